//! The inputs of loading: a working directory, an environment and flags, all passed in so that
//! loading never reads or changes process-wide state on its own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::error::SettingsError;

/// Everything [`Settings::load`](crate::Settings::load) reads besides the files.
///
/// Tests build one with [`Sources::new`] and their own variables; binaries use
/// [`Sources::from_process`]. `Debug` lists the variable names only, never their values.
#[derive(Clone)]
pub struct Sources {
    pub(crate) working_dir: PathBuf,
    pub(crate) config_dir: Option<PathBuf>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) flags: Vec<Flag>,
}

/// A command-line flag that sets a key, applied last.
#[derive(Clone)]
pub(crate) struct Flag {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) value: String,
}

/// Whether a variable is one the settings read, so that an unreadable (non-UTF-8) value of it is
/// an error rather than silently ignored.
fn is_settings_var(name: &str) -> bool {
    name.starts_with("RATES_")
        || matches!(name, "DATABASE_URL" | "FIXER_ACCESS_KEY" | "FIXER_BASE_URL")
}

impl Sources {
    /// Sources with this working directory (where `config/` and `.env` are looked for), no
    /// environment variables and no flags.
    pub fn new(working_dir: impl Into<PathBuf>) -> Sources {
        Sources {
            working_dir: working_dir.into(),
            config_dir: None,
            env: BTreeMap::new(),
            flags: Vec::new(),
        }
    }

    /// The process's current directory and environment. Variables that are not valid UTF-8 are
    /// ignored, unless the settings read them, which is an error.
    pub fn from_process() -> Result<Sources, SettingsError> {
        let working_dir = std::env::current_dir().map_err(|source| SettingsError::Unreadable {
            path: PathBuf::from("."),
            source,
        })?;
        let mut sources = Sources::new(working_dir);
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            match value.into_string() {
                Ok(value) => {
                    sources.env.insert(name.to_owned(), value);
                }
                Err(_) if is_settings_var(name) => {
                    return Err(SettingsError::InvalidValue {
                        key: name.to_owned(),
                        origin: "in the environment".to_owned(),
                        reason: "the value is not valid UTF-8".to_owned(),
                    })
                }
                Err(_) => {}
            }
        }
        Ok(sources)
    }

    /// Adds (or replaces) one environment variable.
    pub fn env_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Sources {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Adds (or replaces) several environment variables.
    pub fn env_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Sources
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Reads the TOML files from this directory instead of `config/` (`--config DIR`); a relative
    /// path is taken from the working directory. Unlike the default, it must exist.
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Sources {
        self.config_dir = Some(dir.into());
        self
    }

    /// Sets `key` (dotted, e.g. `database.url`) from the command-line flag `flag_name`
    /// (e.g. `--database-url`), above every other layer. The value is read like an environment
    /// variable's (lists comma-separated).
    pub fn flag(
        mut self,
        key: impl Into<String>,
        flag_name: impl Into<String>,
        value: impl Into<String>,
    ) -> Sources {
        self.flags.push(Flag {
            key: key.into(),
            name: flag_name.into(),
            value: value.into(),
        });
        self
    }

    /// The working directory given.
    pub fn working_dir(&self) -> &std::path::Path {
        &self.working_dir
    }
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("working_dir", &self.working_dir)
            .field("config_dir", &self.config_dir)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field(
                "flags",
                &self.flags.iter().map(|flag| &flag.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}
