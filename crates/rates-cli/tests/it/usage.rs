//! Bad arguments and configuration exit 2 with one clear line; run-time failures exit 1.

use fixer_client::mock::Plan;

use crate::helpers::{TestResult, World};

#[test]
fn bad_arguments_exit_2_with_a_message_and_no_panic() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let cases: &[(&[&str], &str)] = &[
        (&["ingest", "--days", "0"], "--days"),
        (&["ingest", "--days", "ten"], "--days"),
        (&["ingest", "--date", "2024-13-01"], "--date"),
        (&["ingest", "--date", "05/01/2024"], "--date"),
        (&["ingest", "--from", "2024-01-01"], "--to"),
        (
            &["ingest", "--from", "2024-01-05", "--to", "2024-01-01"],
            "reversed",
        ),
        (
            &["ingest", "--days", "3", "--date", "2024-01-01"],
            "cannot be used with",
        ),
        (&["ingest", "--date", "2999-01-01"], "after today"),
        (&["ingest", "--base", "EURO"], "ingest.base"),
        (&["ingest", "--symbols", "USD,1X"], "ingest.symbols"),
        (&["ingest", "--frobnicate"], "--frobnicate"),
        (&["import-ecb"], "FILE"),
        (&["explode"], "explode"),
        (&["migrate", "--config", "no-such-dir"], "no-such-dir"),
    ];
    for (args, expected) in cases {
        let run = world.run(args)?;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        run.assert_no_panic();
    }
    assert_eq!(world.mock.total_requests(), 0);
    Ok(())
}

#[test]
fn bad_configuration_exits_2_naming_the_key() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let run = world
        .run_with(&["ingest"], &[("RATES__INGEST__DAZE", "3")])?
        .expect_code(2)?;
    assert_eq!(
        run.stderr.trim(),
        "error: unknown setting `RATES__INGEST__DAZE` in the environment"
    );

    let run = world
        .run_with(&["migrate"], &[("RATES__DATABASE__POOL_SIZE", "lots")])?
        .expect_code(2)?;
    assert!(
        run.stderr.contains("`database.pool_size`") && run.stderr.contains("\"lots\""),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    std::fs::create_dir_all(world.dir.path().join("config"))?;
    std::fs::write(
        world.dir.path().join("config/default.toml"),
        "[fixer]\ntimeout = 3\n",
    )?;
    let run = world.run(&["ingest", "--dry-run"])?.expect_code(2)?;
    assert!(
        run.stderr.contains("unknown setting `fixer.timeout`"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn a_missing_access_key_stops_an_ingest_naming_the_key() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let mut command = world.command(&["ingest"]);
    command.env_remove("FIXER_ACCESS_KEY");
    let output = command.output()?;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr)?;
    assert!(stderr.contains("`fixer.access_key` is not set"), "{stderr}");
    assert_eq!(world.mock.total_requests(), 0);
    // .env in the working directory supplies it, without overriding the environment.
    std::fs::write(
        world.dir.path().join(".env"),
        format!("FIXER_ACCESS_KEY={}\n", crate::helpers::KEY),
    )?;
    let output = command.args(["--date", "2024-01-05"]).output()?;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[test]
fn an_unreachable_database_is_one_line_and_exit_1() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    for args in [
        &["migrate"][..],
        &["ingest", "--dry-run"],
        &["migrate", "--status"],
    ] {
        let run = world
            .run_with(
                args,
                &[("DATABASE_URL", "postgres://rates:hunter2@127.0.0.1:1/rates")],
            )?
            .expect_code(1)?;
        assert!(
            run.stderr.starts_with("error: cannot open the database"),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
        run.assert_no_panic();
    }
    let run = world
        .run(&["--database-url", "/no/such/dir/rates.db", "migrate"])?
        .expect_code(1)?;
    assert!(
        run.stderr
            .starts_with("error: cannot open the database /no/such/dir/rates.db"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn migrate_applies_then_reports_status() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let fresh = world.dir.path().join("fresh.db");
    let url = fresh.to_str().ok_or("path")?;
    let run = world
        .run(&["--database-url", url, "migrate", "--status"])?
        .expect_code(0)?;
    assert!(
        run.stdout.contains("does not exist yet; 0 applied"),
        "{}",
        run.stdout
    );
    assert!(!fresh.exists(), "migrate --status created the database");
    let pending: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("pending  "))
        .collect();
    assert!(!pending.is_empty(), "{}", run.stdout);
    let run = world
        .run(&["--database-url", url, "migrate"])?
        .expect_code(0)?;
    assert!(
        run.stdout.contains("migration(s) applied"),
        "{}",
        run.stdout
    );
    // Applied and pending migrations are named the same way: what was pending is now applied.
    let applied: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("applied  "))
        .collect();
    assert_eq!(applied, pending);
    let run = world
        .run(&["--database-url", url, "migrate", "--status"])?
        .expect_code(0)?;
    let listed: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("applied  "))
        .collect();
    assert_eq!(listed, pending);
    let run = world
        .run(&["--database-url", url, "--json", "migrate", "--status"])?
        .expect_code(0)?;
    let status = run.json()?;
    assert_eq!(status["pending"].as_array().map(Vec::len), Some(0));
    assert!(status["applied"]
        .as_array()
        .is_some_and(|applied| !applied.is_empty()));
    let run = world
        .run(&["--database-url", url, "migrate"])?
        .expect_code(0)?;
    assert!(run.stdout.contains("up to date"), "{}", run.stdout);
    Ok(())
}

#[test]
fn help_names_the_environment_and_completions_and_a_man_page_are_printed() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let help = world.run(&["--help"])?.expect_code(0)?;
    for name in [
        "DATABASE_URL",
        "FIXER_ACCESS_KEY",
        "FIXER_BASE_URL",
        "RATES__INGEST__DAYS",
        "RATES__ECB__DOWNLOAD_URL",
        "RATES_ENV",
    ] {
        assert!(
            help.stdout.contains(name),
            "{name} missing:\n{}",
            help.stdout
        );
    }
    // The secret from the test's environment is never shown, only the variables' names.
    assert!(!help.stdout.contains(crate::helpers::KEY));

    for (shell, marker) in [
        ("bash", "complete -F _rates__cli"),
        ("zsh", "#compdef rates-cli"),
        ("fish", "complete -c rates-cli"),
    ] {
        let run = world.run(&["completions", shell])?.expect_code(0)?;
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("import-ecb"), "{shell}");
    }
    world.run(&["completions", "cmd.exe"])?.expect_code(2)?;

    let man = world.run(&["man"])?.expect_code(0)?;
    assert!(man.stdout.contains(".TH rates-cli 1"), "{}", man.stdout);
    assert!(man.stdout.contains("import\\-ecb"), "{}", man.stdout);
    // Nothing was opened or created: these commands need no settings and no database.
    assert!(std::fs::read_dir(world.dir.path())?.next().is_none());
    Ok(())
}

#[test]
fn a_database_password_never_appears_in_any_output() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    // Unreachable, in every form a password can take: one line naming the database, masked.
    for url in [
        "postgres://rates:pw#123-secret@127.0.0.1:1/rates",
        "postgres://rates@127.0.0.1:1/rates?sslmode=disable&password=query-secret",
        "postgres://rates:pw%zz-secret@127.0.0.1:1/rates",
    ] {
        for args in [&["migrate", "--status"][..], &["migrate"]] {
            let run = world
                .run_with(args, &[("DATABASE_URL", url)])?
                .expect_code(1)?;
            assert!(
                run.stderr
                    .starts_with("error: cannot open the database postgres://rates"),
                "{}",
                run.stderr
            );
            assert!(!run.stderr.contains("secret"), "{url}: {}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        }
    }
    // libpq's key=value form is refused, not taken as a SQLite file name.
    let conninfo = "host=127.0.0.1 port=5432 password=conninfo-secret dbname=rates";
    let run = world
        .run_with(&["migrate"], &[("DATABASE_URL", conninfo)])?
        .expect_code(1)?;
    assert!(run.stderr.contains("key=value"), "{}", run.stderr);
    assert!(run.stderr.contains("password=***"), "{}", run.stderr);
    assert!(!run.stderr.contains("conninfo-secret"), "{}", run.stderr);
    let created: Vec<_> = std::fs::read_dir(world.dir.path())?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .filter(|name| name.to_string_lossy().contains("password"))
        .collect();
    assert!(created.is_empty(), "files created: {created:?}");

    // Reachable (the test server trusts local connections and ignores the password): the
    // status line and its JSON show the database with the password masked.
    if let Some(database) = rates_store::testing::TestDatabase::postgres()? {
        let url = format!("{}?password=status-secret", database.url());
        for json in [false, true] {
            let mut args = vec!["migrate", "--status"];
            if json {
                args.insert(0, "--json");
            }
            let run = world
                .run_with(&args, &[("DATABASE_URL", url.as_str())])?
                .expect_code(0)?;
            assert!(run.stdout.contains("password=***"), "{}", run.stdout);
            assert!(!run.stdout.contains("status-secret"), "{}", run.stdout);
            assert!(!run.stderr.contains("status-secret"), "{}", run.stderr);
        }
    }
    Ok(())
}
