//! `rates-cli keys`: a key is printed once and only its hash is stored.

use fixer_client::mock::Plan;
use rates_domain::{hash_api_key, API_KEY_PREFIX};

use crate::helpers::{TestResult, World};

#[test]
fn a_created_key_is_shown_once_stored_hashed_listed_and_revocable() -> TestResult {
    for world in World::all(Plan::ProfessionalPlus)? {
        let run = world
            .run(&["keys", "create", "--name", "billing"])?
            .expect_code(0)?;
        let key = run
            .stdout
            .lines()
            .find(|line| line.starts_with(API_KEY_PREFIX))
            .ok_or(format!("no key printed: {}", run.stdout))?
            .to_owned();
        // 256 random bits in URL-safe base64.
        assert_eq!(key.len(), API_KEY_PREFIX.len() + 43);
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{key}"
        );

        let record = world
            .store()
            .find_active_api_key(hash_api_key(&key).as_str())?
            .ok_or("the hash is not stored")?;
        assert_eq!(record.name, "billing");
        assert!(
            world.store().find_active_api_key(&key)?.is_none(),
            "the key itself is stored"
        );

        let second = world
            .run(&["--json", "keys", "create", "--name", "reports"])?
            .expect_code(0)?
            .json()?;
        assert_ne!(second["key"].as_str(), Some(key.as_str()));

        let list = world.run(&["keys", "list"])?.expect_code(0)?;
        assert!(
            list.stdout.contains("billing") && list.stdout.contains("reports"),
            "{}",
            list.stdout
        );
        assert!(!list.stdout.contains(&key), "the list shows a key");
        let listed = world
            .run(&["--json", "keys", "list"])?
            .expect_code(0)?
            .json()?;
        assert_eq!(listed.as_array().map(Vec::len), Some(2));
        assert_eq!(listed[0]["active"], true);
        assert_eq!(listed[0]["last_used_at"], serde_json::Value::Null);

        let id = record.id.to_string();
        world.run(&["keys", "revoke", &id])?.expect_code(0)?;
        assert!(world
            .store()
            .find_active_api_key(hash_api_key(&key).as_str())?
            .is_none());
        let listed = world
            .run(&["--json", "keys", "list"])?
            .expect_code(0)?
            .json()?;
        assert_eq!(listed[0]["active"], false);
        assert!(listed[0]["revoked_at"].is_string());

        let again = world.run(&["keys", "revoke", &id])?.expect_code(1)?;
        assert!(
            again.stderr.contains("no active API key with id"),
            "{}",
            again.stderr
        );
        world.run(&["keys", "revoke", "999"])?.expect_code(1)?;
        world.run(&["keys", "revoke", "one"])?.expect_code(2)?;
        world.run(&["keys", "create"])?.expect_code(2)?;
        let blank = world
            .run(&["keys", "create", "--name", "  "])?
            .expect_code(2)?;
        assert!(blank.stderr.contains("name"), "{}", blank.stderr);
    }
    Ok(())
}
