//! Numbers written as received: a whole value is `1`, not serde_json's `1.0`, so a stored `155`
//! is served as `155` and a base's own rate as `1`, as Fixer writes them. Other values use the
//! shortest text that reads back as the same float (`1.1172`).

use std::collections::BTreeMap;

use rates_domain::{Currency, Rate};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// Whole numbers below this are written without a fraction (2^53: every such integer is exact).
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A float written as an integer when it is one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plain(pub f64);

impl Serialize for Plain {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < EXACT_INTEGER_LIMIT {
            #[allow(clippy::cast_possible_truncation)]
            return serializer.serialize_i64(self.0 as i64);
        }
        serializer.serialize_f64(self.0)
    }
}

/// Appends `value` as [`Plain`] writes it, for answers written out by hand (a long range).
pub(crate) fn write_plain(out: &mut Vec<u8>, value: f64) {
    use serde_json::ser::{CompactFormatter, Formatter};
    // Writing into a Vec cannot fail.
    let _ = if !value.is_finite() {
        // What serde_json writes for them; rates are finite, so this is never reached.
        CompactFormatter.write_null(out)
    } else if value.fract() == 0.0 && value.abs() < EXACT_INTEGER_LIMIT {
        #[allow(clippy::cast_possible_truncation)]
        CompactFormatter.write_i64(out, value as i64)
    } else {
        CompactFormatter.write_f64(out, value)
    };
}

/// `serialize_with` for a rate: see [`Plain`].
pub(crate) fn rate<S: Serializer>(rate: &Rate, serializer: S) -> Result<S::Ok, S::Error> {
    Plain(rate.get()).serialize(serializer)
}

/// `serialize_with` for a plain float: see [`Plain`].
pub(crate) fn float<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    Plain(*value).serialize(serializer)
}

/// `serialize_with` for one day's rates.
pub(crate) fn rates<S: Serializer>(
    rates: &BTreeMap<Currency, Rate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(rates.len()))?;
    for (currency, rate) in rates {
        map.serialize_entry(currency, &Plain(rate.get()))?;
    }
    map.end()
}

/// `serialize_with` for rates by day.
pub(crate) fn rates_by_day<S: Serializer>(
    days: &BTreeMap<String, BTreeMap<Currency, Rate>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    struct Day<'a>(&'a BTreeMap<Currency, Rate>);
    impl Serialize for Day<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            rates(self.0, serializer)
        }
    }
    let mut map = serializer.serialize_map(Some(days.len()))?;
    for (date, day) in days {
        map.serialize_entry(date, &Day(day))?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: f64) -> String {
        serde_json::to_string(&Plain(value)).unwrap()
    }

    #[test]
    fn whole_numbers_have_no_fraction_and_others_are_shortest() {
        assert_eq!(text(1.0), "1");
        assert_eq!(text(155.0), "155");
        assert_eq!(text(-3.0), "-3");
        assert_eq!(text(1.1172), "1.1172");
        assert_eq!(text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(text(1e300), "1e+300");
    }

    #[test]
    fn written_by_hand_as_serialized() {
        let values = [
            1.0,
            155.0,
            -3.0,
            1.1172,
            0.1 + 0.2,
            1e300,
            2.5e-7,
            9.007_199_254_740_992e15,
            f64::NAN,
        ];
        for value in values {
            let mut out = Vec::new();
            write_plain(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), text(value), "{value}");
        }
    }
}
