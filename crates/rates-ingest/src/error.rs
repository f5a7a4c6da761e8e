//! Why an ingest could not start. Once it has started, failures are per date, in the report.

use time::Date;

/// A problem found before any date is fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The dates asked for make no sense (empty, reversed, too far back).
    #[error("invalid date selection: {0}")]
    InvalidSelection(String),
    /// A date after today (UTC): Fixer has no rates for it yet.
    #[error("{} is after today ({} UTC): Fixer has no rates for future dates", rates_domain::format_date(*date), rates_domain::format_date(*today))]
    DateAfterToday {
        /// The date asked for.
        date: Date,
        /// Today in UTC.
        today: Date,
    },
    /// A setting that an ingest cannot work with (no access key, a bad base currency).
    #[error(transparent)]
    Settings(#[from] rates_settings::SettingsError),
    /// A currency in the settings or arguments that is not a currency code.
    #[error("invalid currency: {0}")]
    Currency(#[from] rates_domain::CurrencyError),
    /// The Fixer client could not be built from the settings.
    #[error("cannot set up the Fixer client: {0}")]
    Client(#[source] fixer_client::Error),
    /// The database could not be read while planning.
    #[error(transparent)]
    Store(#[from] rates_store::StoreError),
}

impl IngestError {
    /// Whether the error comes from what the user asked for (arguments or settings) rather than
    /// from the database: the CLI exits 2 for these.
    pub fn is_usage_error(&self) -> bool {
        !matches!(self, IngestError::Store(_))
    }
}
