//! A single exchange rate and the rounding applied to computed rates.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Number of significant digits kept in values the service computes (rebased rates,
/// conversion rates and converted amounts).
///
/// Significant digits rather than decimal places, so that both `146.3032581` (USD→JPY) and
/// `0.00006538148` (IDR→USD) keep the same relative precision. Stored values are never rounded:
/// they are served exactly as they were received.
pub const PRECISION: u32 = 10;

/// Rounds a computed value to [`PRECISION`] significant digits.
///
/// The result is the `f64` nearest to the rounded decimal, so it prints as that decimal
/// (`0.8950948801`, not `0.89509488010000001`). Zero and non-finite values, and values so close
/// to `f64::MAX` that rounding up would overflow, are returned as given.
pub fn round_computed(value: f64) -> f64 {
    round_significant(value, PRECISION)
}

/// Rounds `value` to `places` decimal places (e.g. Fixer's fluctuation figures, to 4).
///
/// The result is the `f64` nearest to the rounded decimal. Values too large to scale, zero and
/// non-finite values are returned as given.
pub fn round_decimals(value: f64, places: u32) -> f64 {
    let factor = 10f64.powi(i32::try_from(places).unwrap_or(i32::MAX));
    let scaled = value * factor;
    if value == 0.0 || !scaled.is_finite() || !factor.is_finite() {
        return value;
    }
    scaled.round() / factor
}

fn round_significant(value: f64, digits: u32) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    // `magnitude` is the exponent of the leading digit; the cast is exact for any finite f64.
    #[allow(clippy::cast_possible_truncation)]
    let magnitude = value.abs().log10().floor() as i32;
    let digits = i32::try_from(digits).unwrap_or(i32::MAX);
    let shift = digits.saturating_sub(1).saturating_sub(magnitude);
    // Dividing or multiplying an integral f64 by an exactly representable power of ten is
    // correctly rounded, so the result is the f64 closest to the decimal we mean.
    if shift >= 0 {
        let factor = 10f64.powi(shift);
        let scaled = value * factor;
        if !scaled.is_finite() {
            return value;
        }
        scaled.round() / factor
    } else {
        let factor = 10f64.powi(-shift);
        let rounded = (value / factor).round() * factor;
        // Rounding up the largest values can step past f64::MAX.
        if rounded.is_finite() {
            rounded
        } else {
            value
        }
    }
}

/// An exchange rate: a finite number greater than zero.
///
/// Serialised as the plain number, so a stored `1.1172` prints as `1.1172`.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// The rate of a currency against itself.
    pub const ONE: Rate = Rate(1.0);

    /// Validates a rate: it must be finite and greater than zero.
    pub fn new(value: f64) -> Result<Rate, RateError> {
        if !value.is_finite() {
            Err(RateError::NotFinite(value))
        } else if value <= 0.0 {
            Err(RateError::NotPositive(value))
        } else {
            Ok(Rate(value))
        }
    }

    /// The rate as a number.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({})", self.0)
    }
}

impl TryFrom<f64> for Rate {
    type Error = RateError;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Rate::new(value)
    }
}

impl From<Rate> for f64 {
    fn from(rate: Rate) -> f64 {
        rate.0
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Rate::new(value).map_err(serde::de::Error::custom)
    }
}

/// A number that is not a valid rate.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum RateError {
    /// NaN or infinite.
    #[error("rate {0} is not a finite number")]
    NotFinite(f64),
    /// Zero or negative.
    #[error("rate {0} is not greater than zero")]
    NotPositive(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_decimals_keeps_the_places_asked_for() {
        assert_eq!(round_decimals(0.003783000000000065, 4), 0.0038);
        assert_eq!(round_decimals(-0.30782360743, 4), -0.3078);
        assert_eq!(round_decimals(688.12345, 0), 688.0);
        assert_eq!(round_decimals(f64::MAX, 4), f64::MAX);
        assert!(round_decimals(f64::NAN, 4).is_nan());
    }

    #[test]
    fn new_accepts_finite_positive_values() {
        assert_eq!(Rate::new(1.1172).unwrap().get(), 1.1172);
        assert_eq!(
            Rate::new(f64::MIN_POSITIVE).unwrap().get(),
            f64::MIN_POSITIVE
        );
    }

    #[test]
    fn new_rejects_zero_negative_and_non_finite() {
        assert_eq!(Rate::new(0.0), Err(RateError::NotPositive(0.0)));
        assert_eq!(Rate::new(-1.5), Err(RateError::NotPositive(-1.5)));
        assert!(matches!(Rate::new(f64::NAN), Err(RateError::NotFinite(_))));
        assert!(matches!(
            Rate::new(f64::INFINITY),
            Err(RateError::NotFinite(_))
        ));
        assert_eq!(
            Rate::new(-0.0).unwrap_err().to_string(),
            "rate -0 is not greater than zero"
        );
    }

    #[test]
    fn serialises_as_the_plain_number() {
        assert_eq!(
            serde_json::to_string(&Rate::new(1.1172).unwrap()).unwrap(),
            "1.1172"
        );
        assert!(serde_json::from_str::<Rate>("-2").is_err());
        assert_eq!(serde_json::from_str::<Rate>("0.5").unwrap().get(), 0.5);
    }

    #[test]
    fn round_computed_keeps_ten_significant_digits() {
        assert_eq!(round_computed(1.0 / 1.1172), 0.8950948801);
        assert_eq!(round_computed(163.45 / 1.1172), 146.3032581);
        assert_eq!(
            round_computed(0.000_065_381_482_345_6),
            0.000_065_381_482_35
        );
        assert_eq!(round_computed(12_345_678_901_234.0), 12_345_678_900_000.0);
        assert_eq!(round_computed(-2.0 / 3.0), -0.6666666667);
        assert_eq!(round_computed(0.0), 0.0);
        assert!(round_computed(f64::NAN).is_nan());
        assert_eq!(round_computed(f64::MAX), f64::MAX);
    }

    #[test]
    fn round_computed_prints_as_the_short_decimal() {
        assert_eq!(round_computed(1.0 / 3.0).to_string(), "0.3333333333");
        assert_eq!(round_computed(1.1172).to_string(), "1.1172");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn rounding_error_is_within_half_a_unit_of_the_last_digit(value in 1e-12f64..1e12) {
                let rounded = round_computed(value);
                let relative = ((rounded - value) / value).abs();
                prop_assert!(relative <= 5e-10 * (1.0 + 1e-9), "{value} -> {rounded}");
            }

            #[test]
            fn rounding_is_idempotent(value in 1e-12f64..1e12) {
                let once = round_computed(value);
                prop_assert_eq!(round_computed(once), once);
            }
        }
    }
}
