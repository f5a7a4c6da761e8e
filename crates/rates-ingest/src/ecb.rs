//! Reading the European Central Bank's reference-rate history file (`eurofxref-hist.csv`, or
//! its `.zip`) from disk; the text itself is parsed by [`rates_domain::ecb`].
//!
//! The whole file is read and checked before anything is written: a malformed row stops the
//! import with an error naming its line, so a bad file never leaves part of itself behind.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use rates_domain::ecb::{parse_ecb_csv, EcbError, EcbHistory};

/// Why an ECB history file cannot be imported.
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
    /// The file looks like a ZIP archive but cannot be read as one, or holds no CSV file.
    #[error("{path}: {reason}")]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The CSV text is not a readable ECB history (the error names the line).
    #[error(transparent)]
    Parse(#[from] EcbError),
}

/// The first bytes of a ZIP archive.
const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// Reads an ECB history file, plain CSV or a ZIP archive holding it (told apart by content, not
/// by name).
pub fn read_ecb_file(path: &Path) -> Result<EcbHistory, EcbFileError> {
    let read_error = |source| EcbFileError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut magic = [0u8; 4];
    let is_zip = match file.read_exact(&mut magic) {
        Ok(()) => &magic == ZIP_MAGIC,
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => false,
        Err(error) => return Err(read_error(error)),
    };
    file.rewind().map_err(read_error)?;
    if is_zip {
        read_zip(path, file)
    } else {
        Ok(parse_ecb_csv(BufReader::new(file))?)
    }
}

fn read_zip(path: &Path, file: File) -> Result<EcbHistory, EcbFileError> {
    let zip_error = |reason: String| EcbFileError::Zip {
        path: path.to_owned(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
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
    Ok(parse_ecb_csv(BufReader::new(entry))?)
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
            matches!(error, EcbFileError::Parse(EcbError::Row { line: 2, .. })),
            "{error}"
        );
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
            error.to_string().contains("not a readable ZIP archive"),
            "{error}"
        );
    }
}
