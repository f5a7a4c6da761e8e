//! Three-letter currency codes as Fixer uses them.

use std::fmt;
use std::str::FromStr;

/// A currency code: exactly three ASCII letters, held in upper case (`"usd"` becomes `USD`).
///
/// Fixer lists ISO 4217 codes plus a few others (`BTC`, `XAU`); all are three letters, so this
/// type checks the shape only, not membership of a list.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CurrencyCode([u8; 3]);

/// Why a string is not a [`CurrencyCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a currency code: expected exactly three ASCII letters, like \"USD\"")]
pub struct CurrencyCodeError {
    /// The rejected text (cut to 16 characters).
    pub input: String,
}

impl CurrencyCode {
    /// The euro, Fixer's default base.
    pub const EUR: CurrencyCode = CurrencyCode(*b"EUR");

    /// Parses a code, accepting either case.
    pub fn new(code: &str) -> Result<CurrencyCode, CurrencyCodeError> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_alphabetic()) => Ok(CurrencyCode([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(CurrencyCodeError {
                input: code.chars().take(16).collect(),
            }),
        }
    }

    /// The code as upper-case text.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for CurrencyCode {
    type Err = CurrencyCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CurrencyCode::new(s)
    }
}

impl TryFrom<&str> for CurrencyCode {
    type Error = CurrencyCodeError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        CurrencyCode::new(s)
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurrencyCode({})", self.as_str())
    }
}

impl serde::Serialize for CurrencyCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CurrencyCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        CurrencyCode::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_letters_in_either_case() {
        assert_eq!(CurrencyCode::new("usd").unwrap().as_str(), "USD");
        assert_eq!(CurrencyCode::new("EUR").unwrap(), CurrencyCode::EUR);
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in ["", "US", "USDT", "U$D", "12A", "ÄBC"] {
            assert!(CurrencyCode::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serde_round_trip_checks_the_shape() {
        let code: CurrencyCode = serde_json::from_str("\"gbp\"").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"GBP\"");
        assert!(serde_json::from_str::<CurrencyCode>("\"GB\"").is_err());
    }
}
