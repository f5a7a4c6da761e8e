//! Loading settings from files, `.env`, the environment and flags, each test in its own directory.

use std::error::Error;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use rates_settings::{
    AuthStyle, CorsOrigins, Schedule, ServerAuth, Settings, SettingsError, Sources, KEYS,
};

type TestResult = Result<(), Box<dyn Error>>;

const SECRET: &str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";

/// A working directory with these files (paths relative to it).
fn workdir(files: &[(&str, &str)]) -> Result<tempfile::TempDir, Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    for (path, text) in files {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, text)?;
    }
    Ok(dir)
}

fn load(dir: &Path, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    Settings::load(&Sources::new(dir).env_vars(env.iter().copied()))
}

fn load_err(dir: &Path, env: &[(&str, &str)]) -> Result<String, Box<dyn Error>> {
    match load(dir, env) {
        Ok(settings) => Err(format!("expected an error, loaded {settings:?}").into()),
        Err(error) => Ok(error.to_string()),
    }
}

#[test]
fn nothing_configured_gives_the_documented_defaults() -> TestResult {
    let dir = workdir(&[])?;
    let settings = load(dir.path(), &[])?;
    assert_eq!(settings.database.url, "rates.db");
    assert_eq!(settings.database.pool_size, None);
    assert_eq!(settings.fixer.access_key, None);
    assert_eq!(settings.fixer.base_url, "https://data.fixer.io/api");
    assert_eq!(settings.fixer.auth_style, None);
    assert_eq!(settings.fixer.timeout(), Duration::from_secs(10));
    assert_eq!(settings.fixer.max_retries, 4);
    assert_eq!(settings.ingest.days, 10);
    assert_eq!(settings.ingest.base, "EUR");
    assert!(settings.ingest.symbols.is_empty());
    assert_eq!(settings.ingest.concurrency, 4);
    assert_eq!(settings.ingest.schedule, Schedule::Off);
    assert!(!settings.fetch.on_demand);
    assert_eq!(settings.fetch.daily_budget, 50);
    assert_eq!(
        settings.ecb.download_url,
        "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
    );
    assert_eq!(
        settings.server.bind,
        "127.0.0.1:8080".parse::<SocketAddr>()?
    );
    assert!(settings.server.workers >= 1);
    assert_eq!(settings.server.auth, ServerAuth::Off);
    assert_eq!(settings.server.cors_origins, CorsOrigins::Any);
    assert!(settings.server.trusted_proxies.is_empty());
    assert_eq!(settings, Settings::default());
    Ok(())
}

#[test]
fn the_repositorys_config_files_load_and_default_toml_matches_the_built_in_defaults() -> TestResult
{
    // The repository's config/ from an empty working directory: a developer's .env (which
    // sits beside config/ in the repository) must not change what this test sees.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let dir = workdir(&[])?;
    let sources = Sources::new(dir.path()).config_dir(&config);
    let settings = Settings::load(&sources)?;
    let mut expected = Settings::default();
    // default.toml spells the defaults out, except the per-machine worker count.
    expected.server.workers = settings.server.workers;
    assert_eq!(settings, expected);
    for entry in fs::read_dir(&config)? {
        let path = entry?.path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        Settings::load(&sources.clone().env_var("RATES_ENV", name))?;
    }
    Ok(())
}

#[test]
fn each_layer_overrides_the_one_below() -> TestResult {
    let dir = workdir(&[
        (
            "config/default.toml",
            "[database]\nurl = \"from-default.db\"\npool_size = 2\n[ingest]\ndays = 3\nconcurrency = 2\nbase = \"usd\"\n[server]\nworkers = 3\n",
        ),
        ("config/staging.toml", "[database]\nurl = \"from-staging.db\"\n[ingest]\ndays = 5\n"),
        ("config/other.toml", "[database]\nurl = \"from-other.db\"\n"),
        (".env", "RATES__INGEST__DAYS=7\nRATES__SERVER__WORKERS=5\nRATES_ENV=staging\n"),
    ])?;
    let sources = Sources::new(dir.path())
        .env_var("RATES__SERVER__WORKERS", "6")
        .env_var("RATES__INGEST__CONCURRENCY", "8")
        .flag("ingest.concurrency", "--concurrency", "9");
    let settings = Settings::load(&sources)?;
    assert_eq!(
        settings.database.url, "from-staging.db",
        "RATES_ENV from .env selects the file"
    );
    assert_eq!(settings.database.pool_size, Some(2), "default.toml");
    assert_eq!(settings.ingest.base, "USD", "normalised to upper case");
    assert_eq!(settings.ingest.days, 7, ".env over files");
    assert_eq!(settings.server.workers, 6, "environment over .env");
    assert_eq!(settings.ingest.concurrency, 9, "flags over environment");

    let settings = load(dir.path(), &[("RATES_ENV", "other")])?;
    assert_eq!(
        settings.database.url, "from-other.db",
        "a real RATES_ENV beats the .env one"
    );
    Ok(())
}

#[test]
fn dotenv_never_replaces_a_variable_already_set() -> TestResult {
    let dir = workdir(&[(
        ".env",
        "DATABASE_URL=from-dotenv.db\nFIXER_BASE_URL=http://dotenv.example/api\n",
    )])?;
    let settings = load(dir.path(), &[("DATABASE_URL", "from-env.db")])?;
    assert_eq!(settings.database.url, "from-env.db");
    assert_eq!(settings.fixer.base_url, "http://dotenv.example/api");
    Ok(())
}

#[test]
fn short_variable_names_and_the_rates_form_both_work() -> TestResult {
    let dir = workdir(&[])?;
    let settings = load(
        dir.path(),
        &[
            ("RATES__DATABASE__URL", "long.db"),
            ("RATES__FIXER__BASE_URL", "http://long.example"),
            ("FIXER_BASE_URL", "http://short.example/api/"),
            ("RATES__FIXER__ACCESS_KEY", SECRET),
        ],
    )?;
    assert_eq!(settings.database.url, "long.db");
    assert_eq!(
        settings.fixer.base_url, "http://short.example/api",
        "short name wins, slash trimmed"
    );
    assert_eq!(settings.fixer.require_access_key()?.expose_secret(), SECRET);
    Ok(())
}

#[test]
fn every_value_type_is_parsed_from_files_and_from_text() -> TestResult {
    let dir = workdir(&[(
        "config/default.toml",
        r#"
[fixer]
auth_style = "header"
timeout_secs = 30
max_retries = 0
[ingest]
symbols = ["usd", "GBP", "USD"]
schedule = "1h 30m"
[fetch]
on_demand = true
daily_budget = 0
[server]
bind = "0.0.0.0:9000"
auth = "api-key"
cors_origins = ["https://a.example", "http://b.example:8080"]
trusted_proxies = ["127.0.0.1", "::1"]
"#,
    )])?;
    let settings = load(dir.path(), &[])?;
    assert_eq!(settings.fixer.auth_style, Some(AuthStyle::Header));
    assert_eq!(settings.fixer.timeout_secs, 30);
    assert_eq!(settings.fixer.max_retries, 0);
    assert!(settings.fetch.on_demand);
    assert_eq!(settings.fetch.daily_budget, 0);
    assert_eq!(settings.ingest.symbols, ["USD", "GBP"]);
    assert_eq!(
        settings.ingest.schedule,
        Schedule::Every(Duration::from_secs(5400))
    );
    assert_eq!(settings.server.bind, "0.0.0.0:9000".parse::<SocketAddr>()?);
    assert_eq!(settings.server.auth, ServerAuth::ApiKey);
    assert_eq!(
        settings.server.cors_origins,
        CorsOrigins::List(vec![
            "https://a.example".into(),
            "http://b.example:8080".into()
        ])
    );
    assert_eq!(settings.server.trusted_proxies.len(), 2);

    let settings = load(
        dir.path(),
        &[
            ("RATES__INGEST__SYMBOLS", "chf, jpy"),
            ("RATES__INGEST__SCHEDULE", "off"),
            ("RATES__SERVER__CORS_ORIGINS", "*"),
            ("RATES__SERVER__TRUSTED_PROXIES", "10.0.0.1,10.0.0.2"),
            ("RATES__FIXER__AUTH_STYLE", "auto"),
            ("RATES__FETCH__ON_DEMAND", "off"),
            ("RATES__FETCH__DAILY_BUDGET", "7"),
        ],
    )?;
    assert!(!settings.fetch.on_demand);
    assert_eq!(settings.fetch.daily_budget, 7);
    assert_eq!(settings.ingest.symbols, ["CHF", "JPY"]);
    assert_eq!(settings.ingest.schedule, Schedule::Off);
    assert_eq!(settings.server.cors_origins, CorsOrigins::Any);
    assert_eq!(settings.server.trusted_proxies.len(), 2);
    assert_eq!(settings.fixer.auth_style, None);

    let settings = load(dir.path(), &[("RATES__INGEST__SYMBOLS", "all")])?;
    assert!(settings.ingest.symbols.is_empty());
    Ok(())
}

#[test]
fn an_empty_variable_counts_as_unset() -> TestResult {
    let dir = workdir(&[])?;
    let settings = load(
        dir.path(),
        &[("FIXER_ACCESS_KEY", ""), ("RATES__INGEST__DAYS", "")],
    )?;
    assert_eq!(settings.fixer.access_key, None);
    assert_eq!(settings.ingest.days, 10);
    Ok(())
}

#[test]
fn unknown_keys_are_named_with_their_origin() -> TestResult {
    let dir = workdir(&[("config/default.toml", "[database]\npool_sise = 3\n")])?;
    let message = load_err(dir.path(), &[])?;
    assert!(
        message.starts_with("unknown setting `database.pool_sise` in "),
        "{message}"
    );
    assert!(message.ends_with("default.toml"), "{message}");

    let dir = workdir(&[("config/default.toml", "[databse]\nurl = \"x.db\"\n")])?;
    let message = load_err(dir.path(), &[])?;
    assert!(
        message.starts_with("unknown setting `databse.url`"),
        "{message}"
    );

    let dir = workdir(&[])?;
    let message = load_err(dir.path(), &[("RATES__SERVER__BINDS", "x")])?;
    assert_eq!(
        message,
        "unknown setting `RATES__SERVER__BINDS` in the environment"
    );

    let dir = workdir(&[(".env", "RATES__INGEST__DAZE=3\n")])?;
    let message = load_err(dir.path(), &[])?;
    assert!(
        message.starts_with("unknown setting `RATES__INGEST__DAZE` in "),
        "{message}"
    );
    assert!(message.ends_with(".env"), "{message}");

    // Other variables, including RATES_ENV and unrelated RATES_* names, are not settings keys.
    let settings = load(
        dir.path(),
        &[("RATES__INGEST__DAZE", ""), ("HOME", "/root")],
    );
    assert!(
        settings.is_err(),
        "an unknown key is refused even when empty"
    );
    Ok(())
}

#[test]
fn malformed_values_are_named_with_their_origin_and_what_is_accepted() -> TestResult {
    let dir = workdir(&[])?;
    let cases: &[(&str, &str, &str)] = &[
        ("RATES__FIXER__TIMEOUT_SECS", "ten", "invalid value for `fixer.timeout_secs` from environment variable RATES__FIXER__TIMEOUT_SECS: expected a whole number from 1 to 600, got \"ten\""),
        ("RATES__FIXER__TIMEOUT_SECS", "0", "expected a whole number from 1 to 600, got 0"),
        ("RATES__INGEST__DAYS", "-1", "`ingest.days`"),
        ("RATES__INGEST__CONCURRENCY", "100", "`ingest.concurrency`"),
        ("RATES__INGEST__BASE", "EURO", "expected a three-letter currency code such as EUR, got \"EURO\""),
        ("RATES__INGEST__SYMBOLS", "USD,G8P", "got \"G8P\""),
        ("RATES__INGEST__SCHEDULE", "sometimes", "`ingest.schedule`"),
        ("RATES__FETCH__ON_DEMAND", "maybe", "`fetch.on_demand`"),
        ("RATES__FETCH__DAILY_BUDGET", "100001", "`fetch.daily_budget`"),
        ("RATES__INGEST__SCHEDULE", "5s", "the shortest schedule is 1m"),
        ("RATES__SERVER__BIND", "localhost", "`server.bind`"),
        ("RATES__SERVER__AUTH", "basic", "expected `off` or `api-key`"),
        ("RATES__SERVER__CORS_ORIGINS", "example.com", "`server.cors_origins`"),
        ("RATES__SERVER__CORS_ORIGINS", "*,https://a.example", "cannot be combined"),
        ("RATES__SERVER__TRUSTED_PROXIES", "nginx", "`server.trusted_proxies`"),
        ("RATES__FIXER__AUTH_STYLE", "cookie", "`fixer.auth_style`"),
        ("FIXER_BASE_URL", "data.fixer.io/api", "from environment variable FIXER_BASE_URL"),
        ("RATES__DATABASE__POOL_SIZE", "0", "`database.pool_size`"),
        ("RATES_ENV", "../secrets", "`RATES_ENV`"),
        ("RATES_ENV", "production-typo", "production-typo.toml not found"),
    ];
    for (var, value, expected) in cases {
        let message = load_err(dir.path(), &[(var, value)])?;
        assert!(message.contains(expected), "{var}={value}: {message}");
        assert!(!message.contains('\n'), "one line: {message}");
    }

    let dir = workdir(&[(
        "config/default.toml",
        "[fixer]\ntimeout_secs = \"slow\"\n[server]\nworkers = 2.5\n",
    )])?;
    let message = load_err(dir.path(), &[])?;
    assert!(
        message.starts_with("invalid value for `fixer.timeout_secs` in "),
        "{message}"
    );
    let dir = workdir(&[("config/default.toml", "[server]\nworkers = 2.5\n")])?;
    let message = load_err(dir.path(), &[])?;
    assert!(
        message.contains("`server.workers`") && message.contains("got 2.5"),
        "{message}"
    );
    Ok(())
}

#[test]
fn flags_are_checked_like_everything_else() -> TestResult {
    let dir = workdir(&[])?;
    let error = Settings::load(&Sources::new(dir.path()).flag("ingest.base", "--base", "US"))
        .err()
        .ok_or("accepted a two-letter base")?;
    assert!(
        error
            .to_string()
            .starts_with("invalid value for `ingest.base` from --base:"),
        "{error}"
    );
    assert_eq!(error.key(), Some("ingest.base"));
    let settings = Settings::load(&Sources::new(dir.path()).flag(
        "database.url",
        "--database-url",
        "flag.db",
    ))?;
    assert_eq!(settings.database.url, "flag.db");
    Ok(())
}

#[test]
fn the_config_directory_can_be_moved_with_a_relative_path_and_must_then_exist() -> TestResult {
    let dir = workdir(&[
        ("etc/rates/default.toml", "[ingest]\ndays = 2\n"),
        ("config/default.toml", "[ingest]\ndays = 3\n"),
    ])?;
    let settings = Settings::load(&Sources::new(dir.path()).config_dir("etc/rates"))?;
    assert_eq!(settings.ingest.days, 2);
    let settings = Settings::load(&Sources::new(dir.path()))?;
    assert_eq!(
        settings.ingest.days, 3,
        "config/ relative to the working directory"
    );
    let message = Settings::load(&Sources::new(dir.path()).config_dir("nowhere"))
        .err()
        .ok_or("a missing --config directory was accepted")?
        .to_string();
    assert!(message.contains("nowhere not found"), "{message}");
    Ok(())
}

#[test]
fn the_access_key_never_appears_in_debug_or_errors() -> TestResult {
    let dir = workdir(&[])?;
    let settings = load(
        dir.path(),
        &[
            ("FIXER_ACCESS_KEY", SECRET),
            ("DATABASE_URL", "postgres://rates:pw-secret@db/rates"),
        ],
    )?;
    let debug = format!(
        "{settings:?} {:?}",
        Sources::new(dir.path()).env_var("FIXER_ACCESS_KEY", SECRET)
    );
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("pw-secret"), "{debug}");
    assert!(debug.contains("<redacted>"));

    // A malformed key is reported without being repeated.
    let bad = format!("{SECRET} extra");
    let message = load_err(dir.path(), &[("FIXER_ACCESS_KEY", &bad)])?;
    assert!(
        message.starts_with("invalid value for `fixer.access_key`"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");

    // TOML and .env syntax errors give the line number, not the line.
    let dir = workdir(&[(
        "config/default.toml",
        &format!("[fixer]\n\naccess_key = {SECRET}\n"),
    )])?;
    let message = load_err(dir.path(), &[])?;
    assert!(!message.contains(SECRET), "{message}");
    assert!(message.contains("default.toml, line 3: "), "{message}");

    let dir = workdir(&[(".env", &format!("# comment\nFIXER_ACCESS_KEY=\"{SECRET}\n"))])?;
    let message = load_err(dir.path(), &[])?;
    assert!(!message.contains(SECRET), "{message}");
    assert!(message.contains(".env, line 2"), "{message}");
    Ok(())
}

#[test]
fn a_missing_access_key_is_an_error_only_when_asked_for() -> TestResult {
    let dir = workdir(&[])?;
    let settings = load(dir.path(), &[])?;
    let error = settings
        .fixer
        .require_access_key()
        .err()
        .ok_or("no key, yet no error")?;
    assert_eq!(error.key(), Some("fixer.access_key"));
    assert!(error.to_string().contains("FIXER_ACCESS_KEY"), "{error}");
    Ok(())
}

#[test]
fn env_example_lists_every_setting_commented() -> TestResult {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.env.example"))?;
    for info in KEYS {
        let line = text
            .lines()
            .find(|line| {
                line.trim_start_matches(['#', ' '])
                    .starts_with(&format!("{}=", info.env_var))
            })
            .ok_or(format!(
                "{} ({}) is not in .env.example",
                info.env_var, info.key
            ))?;
        assert!(
            line.starts_with('#'),
            "{} must be commented out: {line}",
            info.env_var
        );
    }
    // With every line uncommented, the example's values must load.
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.split_once('=').is_some_and(|(name, _)| {
                    name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                }) =>
            {
                rest
            }
            _ => line,
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let dir = workdir(&[(".env", &uncommented)])?;
    let repo_config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let settings = Settings::load(&Sources::new(dir.path()).config_dir(repo_config))?;
    assert!(settings.fixer.access_key.is_some());
    Ok(())
}

#[test]
fn the_ecb_download_url_can_point_elsewhere_and_must_be_http() -> TestResult {
    let dir = workdir(&[])?;
    let settings = load(
        dir.path(),
        &[("RATES__ECB__DOWNLOAD_URL", "http://127.0.0.1:9/history.zip")],
    )?;
    assert_eq!(settings.ecb.download_url, "http://127.0.0.1:9/history.zip");
    let message = load_err(dir.path(), &[("RATES__ECB__DOWNLOAD_URL", "ftp://x/y.zip")])?;
    assert!(message.contains("ecb.download_url"), "{message}");
    assert!(message.contains("http://"), "{message}");
    Ok(())
}

#[test]
fn the_bind_address_may_name_a_host() -> TestResult {
    let dir = workdir(&[])?;
    let settings = load(dir.path(), &[("RATES__SERVER__BIND", "localhost:8080")])?;
    assert!(
        settings.server.bind.ip().is_loopback(),
        "{}",
        settings.server.bind
    );
    assert_eq!(settings.server.bind.port(), 8080);
    let settings = load(dir.path(), &[("RATES__SERVER__BIND", "[::1]:9000")])?;
    assert_eq!(settings.server.bind, "[::1]:9000".parse::<SocketAddr>()?);
    for (bind, expected) in [
        ("localhost", "such as 127.0.0.1:8080 or localhost:8080"),
        ("localhost:http", "such as 127.0.0.1:8080 or localhost:8080"),
        ("no-such-host.invalid:8080", "cannot resolve the host name"),
    ] {
        let message = load_err(dir.path(), &[("RATES__SERVER__BIND", bind)])?;
        assert!(message.contains("server.bind"), "{message}");
        assert!(message.contains(expected), "{bind}: {message}");
    }
    Ok(())
}
