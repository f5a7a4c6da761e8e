//! Where a stored rate came from.

use std::fmt;
use std::str::FromStr;

/// The origin of a stored rate, recorded with every row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Fetched from the Fixer API.
    Fixer,
    /// Imported from the European Central Bank's reference-rate history file.
    EcbImport,
}

impl Source {
    /// Every source, in a fixed order.
    pub const ALL: [Source; 2] = [Source::Fixer, Source::EcbImport];

    /// The name stored in the database: `"fixer"` or `"ecb-import"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Fixer => "fixer",
            Source::EcbImport => "ecb-import",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = SourceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == input)
            .ok_or_else(|| SourceError {
                input: input.chars().take(32).collect(),
            })
    }
}

/// A text that names no known [`Source`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rate source {input:?}: expected \"fixer\" or \"ecb-import\"")]
pub struct SourceError {
    input: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for source in Source::ALL {
            assert_eq!(source.as_str().parse::<Source>().unwrap(), source);
        }
        assert_eq!(Source::EcbImport.to_string(), "ecb-import");
    }

    #[test]
    fn unknown_names_are_rejected() {
        let error = "Fixer".parse::<Source>().unwrap_err();
        assert!(error.to_string().contains("\"Fixer\""));
    }
}
