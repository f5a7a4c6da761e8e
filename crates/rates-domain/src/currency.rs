//! Currency codes: three ASCII letters, held in upper case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 4217-style currency code: exactly three ASCII letters, normalised to upper case.
///
/// The code is not checked against a list of existing currencies: upstream sources add and
/// retire currencies, and the store keeps whatever they sent.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The euro, the base the European Central Bank and Fixer's free plan publish in.
    pub const EUR: Currency = Currency(*b"EUR");
    /// The United States dollar.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a code, accepting either case (`"usd"` becomes `USD`).
    ///
    /// Surrounding whitespace is not trimmed: `" USD"` is rejected like any other malformed code.
    pub fn parse(input: &str) -> Result<Currency, CurrencyError> {
        let bytes = input.as_bytes();
        let [a, b, c] = bytes else {
            return Err(CurrencyError::new(input, CurrencyErrorKind::Length));
        };
        if ![a, b, c].iter().all(|byte| byte.is_ascii_alphabetic()) {
            return Err(CurrencyError::new(input, CurrencyErrorKind::NotLetters));
        }
        Ok(Currency([
            a.to_ascii_uppercase(),
            b.to_ascii_uppercase(),
            c.to_ascii_uppercase(),
        ]))
    }

    /// The code as upper-case text, e.g. `"USD"`.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII letters by construction, so this never takes the fallback.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Currency::parse(input)
    }
}

impl TryFrom<&str> for Currency {
    type Error = CurrencyError;

    fn try_from(input: &str) -> Result<Self, Self::Error> {
        Currency::parse(input)
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Currency::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a text is not a currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrencyErrorKind {
    /// The text is not exactly three bytes long.
    Length,
    /// The text has three bytes but not all are ASCII letters.
    NotLetters,
}

/// A text that is not a valid currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid currency code {input:?}: {}", self.reason())]
pub struct CurrencyError {
    input: String,
    kind: CurrencyErrorKind,
}

/// Longest part of a rejected input quoted back in an error, so that a huge input cannot
/// flood logs or responses.
const MAX_QUOTED_INPUT: usize = 16;

impl CurrencyError {
    fn new(input: &str, kind: CurrencyErrorKind) -> CurrencyError {
        let input = match input.char_indices().nth(MAX_QUOTED_INPUT) {
            Some((cut, _)) => format!("{}…", input.get(..cut).unwrap_or_default()),
            None => input.to_owned(),
        };
        CurrencyError { input, kind }
    }

    /// The rejected text (shortened when long).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Which rule the text broke.
    pub fn kind(&self) -> CurrencyErrorKind {
        self.kind
    }

    fn reason(&self) -> &'static str {
        match self.kind {
            CurrencyErrorKind::Length => "a currency code is exactly three letters, e.g. USD",
            CurrencyErrorKind::NotLetters => {
                "a currency code has only the ASCII letters A-Z, e.g. USD"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_normalises_to_upper_case() {
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert_eq!(Currency::parse("gBp").unwrap().to_string(), "GBP");
        assert_eq!(Currency::parse("EUR").unwrap(), Currency::EUR);
    }

    #[test]
    fn parse_rejects_wrong_length_and_non_letters() {
        for bad in ["", "US", "USDX", " USD", "US1", "U-D", "ÜSD", "€€", "usd\n"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            Currency::parse("US").unwrap_err().kind(),
            CurrencyErrorKind::Length
        );
        assert_eq!(
            Currency::parse("U1D").unwrap_err().kind(),
            CurrencyErrorKind::NotLetters
        );
    }

    #[test]
    fn error_message_names_the_input_and_the_rule() {
        let message = Currency::parse("US1").unwrap_err().to_string();
        assert!(message.contains("\"US1\""), "{message}");
        assert!(message.contains("ASCII letters"), "{message}");
    }

    #[test]
    fn error_shortens_long_input() {
        let long = "x".repeat(10_000);
        let error = Currency::parse(&long).unwrap_err();
        assert!(error.input().chars().count() <= MAX_QUOTED_INPUT + 1);
    }

    #[test]
    fn serde_uses_the_code_string() {
        let json = serde_json::to_string(&Currency::EUR).unwrap();
        assert_eq!(json, "\"EUR\"");
        let parsed: Currency = serde_json::from_str("\"jpy\"").unwrap();
        assert_eq!(parsed.as_str(), "JPY");
        assert!(serde_json::from_str::<Currency>("\"JPYX\"").is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn three_ascii_letters_parse_to_their_upper_case(code in "[a-zA-Z]{3}") {
                let currency = Currency::parse(&code).unwrap();
                prop_assert_eq!(currency.as_str(), code.to_ascii_uppercase());
                prop_assert_eq!(Currency::parse(currency.as_str()).unwrap(), currency);
            }

            #[test]
            fn anything_else_is_rejected(input in ".*") {
                let is_code = input.len() == 3 && input.bytes().all(|b| b.is_ascii_alphabetic());
                prop_assert_eq!(Currency::parse(&input).is_ok(), is_code);
            }

            #[test]
            fn ordering_follows_the_code_text(a in "[A-Z]{3}", b in "[A-Z]{3}") {
                let (ca, cb) = (Currency::parse(&a).unwrap(), Currency::parse(&b).unwrap());
                prop_assert_eq!(ca.cmp(&cb), a.cmp(&b));
            }
        }
    }
}
