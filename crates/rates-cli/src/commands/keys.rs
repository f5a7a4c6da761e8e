//! `rates-cli keys create|list|revoke`: the API keys rates-server accepts.
//!
//! A key is 256 random bits from the operating system's generator (through `rand`'s thread RNG),
//! shown once on creation; the store keeps only its SHA-256 hash ([`rates_domain::ApiKey`]).

use anyhow::{anyhow, Context as _};
use rates_domain::{ApiKey, API_KEY_BYTES};
use rates_store::ApiKeyRecord;
use serde_json::{json, Value};
use time::macros::format_description;
use time::OffsetDateTime;

use crate::cli::{Cli, KeysCommand};
use crate::output::Output;
use crate::{settings, CliError, Finished};

/// Runs `keys ...`.
pub fn run(cli: &Cli, command: &KeysCommand) -> Result<Finished, CliError> {
    let settings = settings::load(cli, &[])?;
    let store = settings::open_store(&settings)?;
    let output = Output::new(cli.json);
    match command {
        KeysCommand::Create { name } => {
            if name.trim().is_empty() {
                return Err(CliError::Usage(anyhow!("--name must not be empty")));
            }
            let key = ApiKey::from_random_bytes(rand::random::<[u8; API_KEY_BYTES]>());
            let record = store
                .insert_api_key(name, key.hash().as_str())
                .context("storing the key")
                .map_err(CliError::Failure)?;
            output.line(&format!(
                "Created API key {} ({}). It is shown only this once; it cannot be recovered:",
                record.id, record.name
            ));
            output.line(key.expose_secret());
            output.line("Clients send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.");
            let mut document = record_json(&record);
            if let Value::Object(fields) = &mut document {
                fields.insert("key".to_owned(), json!(key.expose_secret()));
            }
            output.json(&document);
        }
        KeysCommand::List => {
            let keys = store
                .list_api_keys()
                .context("listing the keys")
                .map_err(CliError::Failure)?;
            if keys.is_empty() {
                output.line("No API keys. Create one with `rates-cli keys create --name NAME`.");
            } else {
                output.line(&format!(
                    "{:>4}  {:<24} {:<20} {:<20} {:<20} {:>8}",
                    "ID", "NAME", "CREATED", "LAST USED", "REVOKED", "USES"
                ));
                for key in &keys {
                    output.line(&format!(
                        "{:>4}  {:<24} {:<20} {:<20} {:<20} {:>8}",
                        key.id,
                        key.name,
                        timestamp(Some(key.created_at)),
                        timestamp(key.last_used_at),
                        timestamp(key.revoked_at),
                        key.use_count
                    ));
                }
            }
            output.json(&Value::Array(keys.iter().map(record_json).collect()));
        }
        KeysCommand::Revoke { id } => {
            let revoked = store
                .revoke_api_key(*id)
                .context("revoking the key")
                .map_err(CliError::Failure)?;
            if !revoked {
                return Err(CliError::Failure(anyhow!(
                    "no active API key with id {id} (unknown, or already revoked; see `rates-cli keys list`)"
                )));
            }
            output.line(&format!("Revoked API key {id}."));
            output.json(&json!({"id": id, "revoked": true}));
        }
    }
    Ok(Finished::Success)
}

/// `2026-11-28 10:02:03` (UTC), or `-` for none.
fn timestamp(at: Option<OffsetDateTime>) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.and_then(|at| at.to_offset(time::UtcOffset::UTC).format(format).ok())
        .unwrap_or_else(|| "-".to_owned())
}

fn rfc3339(at: Option<OffsetDateTime>) -> Value {
    at.and_then(|at| {
        at.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .map_or(Value::Null, Value::String)
}

fn record_json(record: &ApiKeyRecord) -> Value {
    json!({
        "id": record.id,
        "name": record.name,
        "created_at": rfc3339(Some(record.created_at)),
        "last_used_at": rfc3339(record.last_used_at),
        "revoked_at": rfc3339(record.revoked_at),
        "use_count": record.use_count,
        "active": record.is_active(),
    })
}
