//! Importing the European Central Bank's reference-rate history (`eurofxref-hist.csv`, or its
//! `.zip`) from a file or from the ECB's site: [`EcbImport`] reads, checks and stores it; the
//! text itself is parsed by [`rates_domain::ecb`].
//!
//! The whole file is read and checked before anything is written: a malformed row stops the
//! import with an error naming its line, so a bad file never leaves part of itself behind. The
//! tables are then written through the store's bulk path in batches of whole days, oldest first.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rates_domain::ecb::{parse_ecb_csv, EcbError, EcbHistory};
use rates_domain::{format_date, Source};
use rates_store::{Store, StoreError, WriteCounts, DEFAULT_DAYS_PER_BATCH};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use time::Date;

use crate::report::{thousands, Counts};

/// Why the ECB history cannot be read (from a file or a download).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EcbFileError {
    /// The file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The download failed: no answer, an HTTP error status, or a broken transfer.
    #[error("cannot download {url}: {reason}")]
    Download {
        /// The URL asked for.
        url: String,
        /// What went wrong, and what to check.
        reason: String,
    },
    /// The content looks like a ZIP archive but cannot be read as one, or holds no CSV file.
    #[error("{source_name}: {reason}")]
    Zip {
        /// The file or URL.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CSV text is not a readable ECB history (the error names the line).
    #[error("{source_name}: {error}")]
    Parse {
        /// The file or URL.
        source_name: String,
        /// What is wrong, and where.
        #[source]
        error: EcbError,
    },
}

/// Where the history comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcbSource {
    /// A file on disk: `eurofxref-hist.csv`, or the `.zip` holding it.
    File(PathBuf),
    /// A URL serving the ZIP (or the CSV): the `ecb.download_url` setting.
    Download(String),
}

impl fmt::Display for EcbSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EcbSource::File(path) => write!(f, "{}", path.display()),
            EcbSource::Download(url) => f.write_str(url),
        }
    }
}

/// One committed batch of the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// The batch's first date.
    pub first: Date,
    /// The batch's last date.
    pub last: Date,
    /// Dates in the batch.
    pub dates: usize,
    /// What the batch wrote.
    pub counts: WriteCounts,
}

/// `1999-01-04..2003-12-31  1,274 dates: inserted 26,000, updated 0, unchanged 0`
impl fmt::Display for BatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}..{}  {} dates: inserted {}, updated {}, unchanged {}",
            format_date(self.first),
            format_date(self.last),
            thousands(self.dates as u64),
            thousands(self.counts.inserted),
            thousands(self.counts.updated),
            thousands(self.counts.unchanged),
        )
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The file or URL read.
    pub source: String,
    /// Dates written.
    pub dates: usize,
    /// The oldest date, if any.
    pub first_date: Option<Date>,
    /// The newest date, if any.
    pub last_date: Option<Date>,
    /// Rates inserted / updated / unchanged.
    pub totals: WriteCounts,
    /// `N/A` or empty cells left out (currencies that did not exist yet, or any more).
    pub skipped_cells: usize,
    /// Wall-clock time, reading (and downloading) included.
    pub elapsed: Duration,
}

impl ImportReport {
    /// The import on one line: `25 dates (1999-01-04..2024-03-28), rates inserted 700,
    /// updated 0, unchanged 0; 30 N/A cells skipped; 0.12s`.
    pub fn summary(&self) -> String {
        format!(
            "{} dates ({}..{}), rates inserted {}, updated {}, unchanged {}; {} N/A cells skipped; {:.2}s",
            thousands(self.dates as u64),
            self.first_date.map(format_date).unwrap_or_default(),
            self.last_date.map(format_date).unwrap_or_default(),
            thousands(self.totals.inserted),
            thousands(self.totals.updated),
            thousands(self.totals.unchanged),
            thousands(self.skipped_cells as u64),
            self.elapsed.as_secs_f64(),
        )
    }
}

impl Serialize for ImportReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut report = serializer.serialize_struct("ImportReport", 8)?;
        report.serialize_field("source", &self.source)?;
        report.serialize_field("dates", &self.dates)?;
        report.serialize_field("first_date", &self.first_date.map(format_date))?;
        report.serialize_field("last_date", &self.last_date.map(format_date))?;
        report.serialize_field("totals", &Counts(&self.totals))?;
        report.serialize_field("skipped_cells", &self.skipped_cells)?;
        report.serialize_field(
            "elapsed_ms",
            &u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        )?;
        report.serialize_field("summary", &self.summary())?;
        report.end()
    }
}

/// An ECB import, read and checked, ready to write: [`EcbImport::read`] then
/// [`EcbImport::write`]. Nothing is written unless the whole history is valid, and the store is
/// only needed (and opened by the caller) once it is.
#[derive(Debug)]
pub struct EcbImport {
    source: EcbSource,
    history: EcbHistory,
    started: Instant,
}

impl EcbImport {
    /// Reads the whole history from `source` (downloading it first if asked, calling
    /// `on_download(bytes so far, total if known)` as data arrives) and checks every row.
    ///
    /// Blocking (file or network).
    pub fn read(
        source: EcbSource,
        on_download: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<EcbImport, EcbFileError> {
        let started = Instant::now();
        let mut history = match &source {
            EcbSource::File(path) => read_ecb_file(path)?,
            EcbSource::Download(url) => {
                let bytes = download(url, on_download)?;
                read_history(url, Cursor::new(bytes), &|error| EcbFileError::Download {
                    url: url.clone(),
                    reason: error.to_string(),
                })?
            }
        };
        // The store writes oldest first; sorting the same way lets each batch name its dates.
        history.tables.sort_by_key(|table| table.date());
        Ok(EcbImport {
            source,
            history,
            started,
        })
    }

    /// The dates the history holds.
    pub fn dates(&self) -> usize {
        self.history.tables.len()
    }

    /// Writes the history into `store` (base EUR, source `ecb-import`) in batches of whole days,
    /// oldest first, calling `on_batch` after each commit. Importing the same history again
    /// reports every rate unchanged. On a failed batch, the batches before it stay stored.
    ///
    /// Blocking (database writes).
    pub fn write(
        self,
        store: &Store,
        on_batch: &mut dyn FnMut(&BatchReport),
    ) -> Result<ImportReport, StoreError> {
        let tables = &self.history.tables;
        let mut written = 0;
        let mut counts_so_far = WriteCounts::default();
        let totals = store.bulk_upsert_with_progress(
            tables,
            Source::EcbImport,
            DEFAULT_DAYS_PER_BATCH,
            |progress| {
                let batch = tables.get(written..progress.days_done).unwrap_or_default();
                if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
                    on_batch(&BatchReport {
                        first: first.date(),
                        last: last.date(),
                        dates: batch.len(),
                        counts: WriteCounts {
                            inserted: progress.counts.inserted - counts_so_far.inserted,
                            updated: progress.counts.updated - counts_so_far.updated,
                            unchanged: progress.counts.unchanged - counts_so_far.unchanged,
                        },
                    });
                }
                written = progress.days_done;
                counts_so_far = progress.counts;
            },
        )?;
        Ok(ImportReport {
            source: self.source.to_string(),
            dates: tables.len(),
            first_date: tables.first().map(|table| table.date()),
            last_date: tables.last().map(|table| table.date()),
            totals,
            skipped_cells: self.history.skipped_cells,
            elapsed: self.started.elapsed(),
        })
    }
}

/// The first bytes of a ZIP archive.
const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// The largest download accepted: the ECB's archive is well under 1 MB, its CSV under 10 MB.
const MAX_DOWNLOAD_BYTES: u64 = 64 * 1024 * 1024;

/// Reads an ECB history file, plain CSV or a ZIP archive holding it (told apart by content, not
/// by name).
pub fn read_ecb_file(path: &Path) -> Result<EcbHistory, EcbFileError> {
    let read_error = |source| EcbFileError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    read_history(&path.display().to_string(), file, &read_error)
}

/// Reads the history from `reader` (CSV, or a ZIP holding it); `name` is the file or URL, for
/// messages, and `io_error` says what a failure to read means for it.
fn read_history(
    name: &str,
    mut reader: impl Read + Seek,
    io_error: &dyn Fn(io::Error) -> EcbFileError,
) -> Result<EcbHistory, EcbFileError> {
    let mut magic = [0u8; 4];
    let is_zip = match reader.read_exact(&mut magic) {
        Ok(()) => &magic == ZIP_MAGIC,
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => false,
        Err(error) => return Err(io_error(error)),
    };
    reader.rewind().map_err(io_error)?;
    let parse_error = |error| EcbFileError::Parse {
        source_name: name.to_owned(),
        error,
    };
    if !is_zip {
        return parse_ecb_csv(BufReader::new(reader)).map_err(parse_error);
    }
    let zip_error = |reason: String| EcbFileError::Zip {
        source_name: name.to_owned(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(reader))
        .map_err(|error| zip_error(format!("not a readable ZIP archive: {error}")))?;
    let index = (0..archive.len())
        .find(|&index| {
            archive
                .name_for_index(index)
                .is_some_and(|name| name.to_ascii_lowercase().ends_with(".csv"))
        })
        .ok_or_else(|| zip_error("the archive holds no .csv file".to_owned()))?;
    let entry = archive
        .by_index(index)
        .map_err(|error| zip_error(format!("cannot read the CSV file in the archive: {error}")))?;
    parse_ecb_csv(BufReader::new(entry)).map_err(parse_error)
}

/// Downloads `url` into memory, calling `on_bytes(received, total)` as data arrives.
fn download(
    url: &str,
    on_bytes: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, EcbFileError> {
    let failed = |reason: String| EcbFileError::Download {
        url: url.to_owned(),
        reason,
    };
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(60))
        .build();
    let response = agent.get(url).call().map_err(|error| match error {
        ureq::Error::Status(status, response) => failed(format!(
            "HTTP {status} {}; check ecb.download_url (RATES__ECB__DOWNLOAD_URL)",
            response.status_text()
        )),
        ureq::Error::Transport(transport) => failed(format!(
            "{transport}; check the network, or ecb.download_url (RATES__ECB__DOWNLOAD_URL)"
        )),
    })?;
    let total = response
        .header("Content-Length")
        .and_then(|length| length.trim().parse::<u64>().ok());
    if total.is_some_and(|total| total > MAX_DOWNLOAD_BYTES) {
        return Err(failed(format!(
            "the server announces {} bytes, more than the {} an ECB history can take",
            thousands(total.unwrap_or_default()),
            thousands(MAX_DOWNLOAD_BYTES)
        )));
    }
    let mut reader = response.into_reader().take(MAX_DOWNLOAD_BYTES + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(total.unwrap_or(0)).unwrap_or(0));
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(failed(format!("the transfer broke off: {error}"))),
        };
        bytes.extend_from_slice(chunk.get(..read).unwrap_or_default());
        on_bytes(bytes.len() as u64, total);
    }
    if bytes.len() as u64 > MAX_DOWNLOAD_BYTES {
        return Err(failed(format!(
            "more than {} bytes, too much for an ECB history",
            thousands(MAX_DOWNLOAD_BYTES)
        )));
    }
    if let Some(total) = total.filter(|total| *total != bytes.len() as u64) {
        return Err(failed(format!(
            "the transfer broke off after {} of {} bytes",
            thousands(bytes.len() as u64),
            thousands(total)
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(directory: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = directory.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_csv_file_is_parsed_and_its_bad_rows_named() {
        let directory = tempfile::tempdir().unwrap();
        let good = write(&directory, "good.csv", b"Date,USD,\n2026-10-30,1.1172,\n");
        let history = read_ecb_file(&good).unwrap();
        assert_eq!(history.rate_count(), 1);
        let bad = write(&directory, "bad.csv", b"Date,USD,\n2026-10-30,x,\n");
        let error = read_ecb_file(&bad).unwrap_err();
        assert!(
            matches!(
                error,
                EcbFileError::Parse {
                    error: EcbError::Row { line: 2, .. },
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("bad.csv: line 2: "), "{error}");
    }

    #[test]
    fn unreadable_files_and_broken_archives_are_named() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("missing.csv");
        let error = read_ecb_file(&missing).unwrap_err();
        assert!(matches!(error, EcbFileError::Read { .. }), "{error}");
        assert!(error.to_string().contains("missing.csv"), "{error}");
        let broken = write(&directory, "history.csv", b"PK\x03\x04 not really a zip");
        let error = read_ecb_file(&broken).unwrap_err();
        assert!(matches!(error, EcbFileError::Zip { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("history.csv: not a readable ZIP archive"),
            "{error}"
        );
    }
}
