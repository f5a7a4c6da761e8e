//! Loading: stack the layers (defaults, files, `.env`, environment, flags), then check each value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::SettingsError;
use crate::keys::{apply, lookup, Origin, Raw, RawValue, KEYS};
use crate::sections::Settings;
use crate::sources::Sources;

/// The directory of TOML files, relative to the working directory, unless `--config` says otherwise.
pub const DEFAULT_CONFIG_DIR: &str = "config";

/// The environment variable naming the per-environment file (`config/$RATES_ENV.toml`).
pub const ENV_NAME_VAR: &str = "RATES_ENV";

/// Environment variables with a short, conventional name; they win over `RATES__SECTION__KEY`.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("FIXER_ACCESS_KEY", "fixer.access_key"),
    ("FIXER_BASE_URL", "fixer.base_url"),
];

/// The prefix of every other settings variable; sections and keys are separated by `__`.
const ENV_PREFIX: &str = "RATES__";

impl Settings {
    /// Loads the settings from `sources`, lowest layer first: built-in defaults,
    /// `config/default.toml`, `config/$RATES_ENV.toml`, `.env` in the working directory (never
    /// overriding a variable already set), the environment, then flags.
    ///
    /// Stops at the first unknown key, malformed value or unreadable file, with an error that
    /// names it. The access key is not required here: see
    /// [`FixerSettings::require_access_key`](crate::FixerSettings::require_access_key).
    pub fn load(sources: &Sources) -> Result<Settings, SettingsError> {
        let (env, env_origins) = environment_with_dotenv(sources)?;
        let mut layers = Layers::default();

        let config_dir = config_dir(sources)?;
        let default_file = config_dir.join("default.toml");
        if default_file.is_file() {
            layers.add_file(&default_file)?;
        }
        if let Some(env_name) = env.get(ENV_NAME_VAR).filter(|name| !name.is_empty()) {
            layers.add_file(&environment_file(&config_dir, env_name)?)?;
        }
        layers.add_environment(&env, &env_origins)?;
        for flag in &sources.flags {
            layers.add(
                &flag.key,
                Raw {
                    value: RawValue::Text(flag.value.clone()),
                    origin: Origin::Flag(flag.name.clone()),
                },
            )?;
        }

        let mut settings = Settings::default();
        for info in KEYS {
            if let Some(raw) = layers.values.get(info.key) {
                apply(&mut settings, info.key, raw)?;
            }
        }
        Ok(settings)
    }
}

/// The merged values, one per key, each remembering the layer it came from.
#[derive(Default)]
struct Layers {
    values: BTreeMap<String, Raw>,
}

impl Layers {
    fn add(&mut self, key: &str, raw: Raw) -> Result<(), SettingsError> {
        if lookup(key).is_none() {
            return Err(SettingsError::UnknownKey {
                key: key.to_owned(),
                origin: raw.origin.to_string(),
            });
        }
        self.values.insert(key.to_owned(), raw);
        Ok(())
    }

    fn add_file(&mut self, path: &Path) -> Result<(), SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let table = text
            .parse::<toml::Table>()
            .map_err(|error| SettingsError::Syntax {
                path: path.to_owned(),
                line: error.span().map_or(1, |span| line_of(&text, span.start)),
                message: error.message().trim().to_owned(),
            })?;
        self.add_table("", table, path)
    }

    fn add_table(
        &mut self,
        prefix: &str,
        table: toml::Table,
        path: &Path,
    ) -> Result<(), SettingsError> {
        for (name, value) in table {
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            match value {
                toml::Value::Table(inner) => self.add_table(&key, inner, path)?,
                leaf => self.add(
                    &key,
                    Raw {
                        value: RawValue::Toml(leaf),
                        origin: Origin::File(path.to_owned()),
                    },
                )?,
            }
        }
        Ok(())
    }

    fn add_environment(
        &mut self,
        env: &BTreeMap<String, String>,
        origins: &BTreeMap<String, PathBuf>,
    ) -> Result<(), SettingsError> {
        let origin_of = |var: &str| match origins.get(var) {
            Some(path) => Origin::DotEnv {
                path: path.clone(),
                var: var.to_owned(),
            },
            None => Origin::Env(var.to_owned()),
        };
        for (var, value) in env.range(ENV_PREFIX.to_owned()..) {
            let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
                break;
            };
            let key = rest.to_ascii_lowercase().replace("__", ".");
            if lookup(&key).is_none() {
                return Err(SettingsError::UnknownKey {
                    key: var.clone(),
                    origin: match origins.get(var.as_str()) {
                        Some(path) => format!("in {}", path.display()),
                        None => "in the environment".to_owned(),
                    },
                });
            }
            // An empty variable counts as unset, as `FOO=` lines in shells and .env files mean.
            if !value.is_empty() {
                self.add(
                    &key,
                    Raw {
                        value: RawValue::Text(value.clone()),
                        origin: origin_of(var),
                    },
                )?;
            }
        }
        for (var, key) in SHORT_NAMES {
            if let Some(value) = env.get(*var).filter(|value| !value.is_empty()) {
                self.add(
                    key,
                    Raw {
                        value: RawValue::Text(value.clone()),
                        origin: origin_of(var),
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// Environment variables by name.
type Environment = BTreeMap<String, String>;

/// For the variables that came from a `.env` file, that file.
type DotEnvOrigins = BTreeMap<String, PathBuf>;

/// The environment given plus the variables of `.env` that it does not already set, and for
/// those, the file they came from.
fn environment_with_dotenv(
    sources: &Sources,
) -> Result<(Environment, DotEnvOrigins), SettingsError> {
    let mut env = sources.env.clone();
    let mut origins = BTreeMap::new();
    let path = sources.working_dir.join(".env");
    if !path.is_file() {
        return Ok((env, origins));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| SettingsError::Unreadable {
        path: path.clone(),
        source,
    })?;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        let (name, value) = item.map_err(|error| dotenv_error(&path, &text, error))?;
        if let std::collections::btree_map::Entry::Vacant(entry) = env.entry(name) {
            origins.insert(entry.key().clone(), path.clone());
            entry.insert(value);
        }
    }
    Ok((env, origins))
}

/// A `.env` parse error with its line number but without the line, which may hold a secret.
fn dotenv_error(path: &Path, text: &str, error: dotenvy::Error) -> SettingsError {
    match error {
        dotenvy::Error::LineParse(line, _) => {
            let first_line = line.lines().next().unwrap_or_default();
            let line_number = text
                .lines()
                .position(|candidate| !first_line.is_empty() && candidate == first_line)
                .map_or(1, |index| index + 1);
            SettingsError::Syntax {
                path: path.to_owned(),
                line: line_number,
                message: "expected NAME=value (quote values that contain spaces or #)".to_owned(),
            }
        }
        dotenvy::Error::Io(source) => SettingsError::Unreadable {
            path: path.to_owned(),
            source,
        },
        other => SettingsError::Syntax {
            path: path.to_owned(),
            line: 1,
            message: match other {
                dotenvy::Error::EnvVar(_) => "a variable could not be substituted".to_owned(),
                _ => "the file cannot be parsed".to_owned(),
            },
        },
    }
}

fn config_dir(sources: &Sources) -> Result<PathBuf, SettingsError> {
    match &sources.config_dir {
        None => Ok(sources.working_dir.join(DEFAULT_CONFIG_DIR)),
        Some(dir) => {
            let dir = sources.working_dir.join(dir);
            if dir.is_dir() {
                Ok(dir)
            } else {
                Err(SettingsError::MissingFile {
                    path: dir,
                    reason: "the configuration directory given with --config must exist".to_owned(),
                })
            }
        }
    }
}

fn environment_file(config_dir: &Path, env_name: &str) -> Result<PathBuf, SettingsError> {
    let well_formed = env_name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(SettingsError::InvalidValue {
            key: ENV_NAME_VAR.to_owned(),
            origin: "in the environment".to_owned(),
            reason: format!("expected a name made of letters, digits, - and _ (such as production), got {env_name:?}"),
        });
    }
    let path = config_dir.join(format!("{env_name}.toml"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(SettingsError::MissingFile {
            path,
            reason: format!(
                "{ENV_NAME_VAR}={env_name} selects it; create it or unset {ENV_NAME_VAR}"
            ),
        })
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.bytes().take(offset).filter(|b| *b == b'\n').count() + 1
}
