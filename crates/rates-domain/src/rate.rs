//! A single exchange rate and the rounding applied to computed rates.

use std::fmt;
use std::io::Write as _;

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
/// (`0.8950948801`, not `0.89509488010000001`), across the whole range of `f64`, from
/// subnormals to `1e308`. Zero and non-finite values, and values so close to `f64::MAX` that
/// rounding up would overflow, are returned as given.
pub fn round_computed(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let rounded = round_by_scaling(value).unwrap_or_else(|| round_by_formatting(value));
    if rounded.is_finite() {
        rounded
    } else {
        value
    }
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

/// The powers of ten an `f64` holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The range a value scaled to [`PRECISION`] digits before the point falls in.
const SCALED_RANGE: std::ops::Range<f64> = 1e9..1e10;
const _: () = assert!(PRECISION == 10, "SCALED_RANGE is written for ten digits");

/// The common case, about five times faster than formatting: scale by an exact power of ten,
/// round to an integer, scale back. The integer and the power are both exact, so scaling back
/// is one correctly rounded operation. Gives up (`None`) where that is not enough: outside
/// 1e-13..1e32, where the power of ten is not exact, and where the scaled value is so near
/// a half that its own rounding error could pick the wrong integer.
fn round_by_scaling(value: f64) -> Option<f64> {
    let (shift, power, scaled) = match scale_to_ten_digits(value, decimal_magnitude(value))? {
        // The magnitude from the binary exponent can be one too low, never too high.
        (_, _, scaled) if scaled.abs() >= SCALED_RANGE.end => {
            scale_to_ten_digits(value, decimal_magnitude(value) + 1)?
        }
        scaled => scaled,
    };
    // `scaled` is within 2^-53 of the exact product (under 2e-6 in this range).
    if !SCALED_RANGE.contains(&scaled.abs()) || (scaled.abs().fract() - 0.5).abs() < 1e-5 {
        return None;
    }
    let whole = scaled.round();
    Some(if shift >= 0 {
        whole / power
    } else {
        whole * power
    })
}

/// `floor(log10(|value|))` or one less, from the binary exponent alone (a multiplication and a
/// shift instead of a logarithm, which took a fifth of a rebased range's render). Normal
/// numbers only: a subnormal's estimate is too low, which the range check of
/// [`round_by_scaling`] refuses.
fn decimal_magnitude(value: f64) -> i32 {
    const EXPONENT_BIAS: i64 = 1023;
    const MANTISSA_BITS: u32 = 52;
    // 78913 / 2^18 is log10(2) to within 1e-7, exact enough for every binary exponent of f64.
    const LOG10_2_NUMERATOR: i64 = 78913;
    let binary_exponent = ((value.to_bits() >> MANTISSA_BITS) & 0x7ff) as i64 - EXPONENT_BIAS;
    // |binary_exponent| <= 1023, so the product and the result fit an i32 comfortably.
    #[allow(clippy::cast_possible_truncation)]
    let magnitude = ((binary_exponent * LOG10_2_NUMERATOR) >> 18) as i32;
    magnitude
}

/// `value` scaled by the exact power of ten that would bring a number of `magnitude` to ten
/// digits before the point: `(shift, power, scaled)`; `None` where the power is not exact.
fn scale_to_ten_digits(value: f64, magnitude: i32) -> Option<(i32, f64, f64)> {
    let shift = (PRECISION as i32 - 1).checked_sub(magnitude)?;
    let power = *EXACT_POWERS_OF_TEN.get(usize::try_from(shift.unsigned_abs()).ok()?)?;
    let scaled = if shift >= 0 {
        value * power
    } else {
        value / power
    };
    Some((shift, power, scaled))
}

/// Correct everywhere: Rust's formatting rounds the exact binary value to the digits asked for,
/// and its parser returns the `f64` nearest to that decimal.
fn round_by_formatting(value: f64) -> f64 {
    const DIGITS_AFTER_POINT: usize = PRECISION as usize - 1;
    let mut text = [0u8; ROUNDED_TEXT_BYTES];
    let mut unwritten = text.as_mut_slice();
    if write!(unwritten, "{value:.DIGITS_AFTER_POINT$e}").is_err() {
        return value;
    }
    let written = ROUNDED_TEXT_BYTES - unwritten.len();
    std::str::from_utf8(text.get(..written).unwrap_or_default())
        .ok()
        .and_then(|decimal| decimal.parse().ok())
        .unwrap_or(value)
}

/// Room for what `round_by_formatting` writes: sign, [`PRECISION`] digits, point, `e`,
/// exponent sign and three exponent digits, with some to spare.
const ROUNDED_TEXT_BYTES: usize = 32;

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

    #[test]
    fn round_computed_is_exact_at_the_ends_of_the_range() {
        // Values that scaling by a power of ten used to round wrongly.
        assert_eq!(format!("{:e}", round_computed(1e100)), "1e100");
        assert_eq!(format!("{:e}", round_computed(1e-20)), "1e-20");
        assert_eq!(
            format!("{:e}", round_computed(6.266449429753101e-303)),
            "6.26644943e-303"
        );
        assert_eq!(
            format!("{:e}", round_computed(1.234567890123e300)),
            "1.23456789e300"
        );
        assert_eq!(round_computed(f64::MIN_POSITIVE), 2.225073859e-308);
        assert_eq!(round_computed(5e-324), 5e-324);
        assert_eq!(round_computed(-1e-20), -1e-20);
        // f64::MAX rounded to ten digits would be beyond f64::MAX: it is kept as it is.
        assert_eq!(round_computed(f64::MAX), f64::MAX);
        assert_eq!(round_computed(1.797693134e308), 1.797693134e308);
    }

    /// Significant digits of the shortest decimal that reads back as `value`.
    fn significant_digits(value: f64) -> usize {
        let text = format!("{:e}", value.abs());
        let mantissa = text.split('e').next().unwrap_or_default();
        mantissa
            .trim_end_matches('0')
            .bytes()
            .filter(u8::is_ascii_digit)
            .count()
    }

    mod properties {
        use super::*;
        use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL};
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn rounding_error_is_within_half_a_unit_of_the_last_digit(value in 1e-12f64..1e12) {
                let rounded = round_computed(value);
                let relative = ((rounded - value) / value).abs();
                prop_assert!(relative <= 5e-10 * (1.0 + 1e-9), "{value} -> {rounded}");
            }

            #[test]
            fn decimal_magnitude_is_the_logarithm_or_one_less(value in POSITIVE | NORMAL) {
                let magnitude = decimal_magnitude(value);
                let exact = value.abs().log10().floor() as i32;
                prop_assert!(magnitude == exact || magnitude + 1 == exact, "{value:e}: {magnitude}");
            }

            #[test]
            fn rounding_is_idempotent(value in 1e-12f64..1e12) {
                let once = round_computed(value);
                prop_assert_eq!(round_computed(once), once);
            }

            /// Any normal f64, of either sign, whatever its magnitude: the result prints with
            /// at most ten significant digits, is within half a unit of the tenth digit (one
            /// unit of the value's last binary digit for the f64 error), and is left as it is
            /// when rounded again.
            #[test]
            fn rounding_holds_across_the_whole_range(value in POSITIVE | NEGATIVE | NORMAL) {
                // Above this, rounding to ten digits would overflow and the value is kept.
                prop_assume!(value.abs() < 1.797_693_134e308);
                let rounded = round_computed(value);
                prop_assert!(significant_digits(rounded) <= PRECISION as usize, "{value:e} -> {rounded:e}");
                let relative = ((rounded - value) / value).abs();
                prop_assert!(relative <= 5e-10 * (1.0 + 1e-6), "{value:e} -> {rounded:e}");
                prop_assert_eq!(round_computed(rounded), rounded);
            }

            /// The fast path, where it answers, gives exactly what formatting gives, for any
            /// bit pattern.
            #[test]
            fn scaling_agrees_with_formatting(bits in any::<u64>(), mantissa in 1.0f64..10.0, exponent in -14i32..33) {
                let anywhere = f64::from_bits(bits);
                let where_scaling_answers = mantissa * 10f64.powi(exponent);
                for value in [anywhere, where_scaling_answers] {
                    prop_assume!(value.is_finite() && value != 0.0);
                    if let Some(scaled) = round_by_scaling(value) {
                        prop_assert_eq!(scaled.to_bits(), round_by_formatting(value).to_bits(), "{:e}", value);
                    }
                }
            }

            /// Subnormals hold fewer digits than ten: rounding leaves them printing as short.
            #[test]
            fn subnormals_round_to_a_short_decimal(value in POSITIVE | NEGATIVE | SUBNORMAL) {
                let rounded = round_computed(value);
                prop_assert!(significant_digits(rounded) <= PRECISION as usize, "{value:e} -> {rounded:e}");
                prop_assert_eq!(round_computed(rounded), rounded);
            }
        }
    }
}
