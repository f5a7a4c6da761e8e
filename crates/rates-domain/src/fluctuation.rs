//! How rates moved between two days: start and end rate, change and change in percent.

use std::collections::BTreeMap;

use crate::currency::Currency;
use crate::rate::{round_computed, round_decimals, Rate};
use crate::table::{DomainError, RateTable};

/// Decimal places Fixer rounds `change` and `change_pct` to.
pub const FIXER_FLUCTUATION_DECIMALS: u32 = 4;

/// How one currency's rate moved between two days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fluctuation {
    /// The rate on the first day.
    pub start_rate: Rate,
    /// The rate on the last day.
    pub end_rate: Rate,
    /// `end_rate − start_rate`, rounded to [`PRECISION`](crate::PRECISION) significant digits.
    pub change: f64,
    /// `(end_rate − start_rate) / start_rate × 100`, rounded the same way.
    pub change_pct: f64,
}

impl Fluctuation {
    /// The movement from `start_rate` to `end_rate`.
    pub fn between(start_rate: Rate, end_rate: Rate) -> Fluctuation {
        let (start, end) = (start_rate.get(), end_rate.get());
        Fluctuation {
            start_rate,
            end_rate,
            change: round_computed(end - start),
            change_pct: round_computed(percent_change(start, end)),
        }
    }

    /// The same movement with `change` and `change_pct` rounded as Fixer rounds them: to
    /// [`FIXER_FLUCTUATION_DECIMALS`] decimal places, computed from the rates themselves (not
    /// from the values already rounded to significant digits).
    pub fn fixer_rounded(&self) -> Fluctuation {
        let (start, end) = (self.start_rate.get(), self.end_rate.get());
        Fluctuation {
            start_rate: self.start_rate,
            end_rate: self.end_rate,
            change: round_decimals(end - start, FIXER_FLUCTUATION_DECIMALS),
            change_pct: round_decimals(percent_change(start, end), FIXER_FLUCTUATION_DECIMALS),
        }
    }
}

/// Both values are finite and positive (they are rates), so the quotient is finite unless the
/// rates span more than about 308 orders of magnitude; then it saturates rather than being NaN.
fn percent_change(start: f64, end: f64) -> f64 {
    let percent = (end - start) / start * 100.0;
    if percent.is_finite() {
        percent
    } else {
        f64::MAX
    }
}

/// How every currency held on both days moved from `start` to `end`, in `start`'s base.
///
/// `end` is rebased to `start`'s base first when their bases differ (an error when `end` cannot
/// price that base). Currencies held on only one of the two days are left out; filter the
/// tables with [`RateTable::only`] first to insist on particular currencies. The two tables may
/// be the same day (every change is then 0).
pub fn fluctuation(
    start: &RateTable,
    end: &RateTable,
) -> Result<BTreeMap<Currency, Fluctuation>, DomainError> {
    let rebased;
    let end = if end.base() == start.base() {
        end
    } else {
        rebased = end.rebase(start.base())?;
        &rebased
    };
    Ok(start
        .rates()
        .iter()
        .filter_map(|(&currency, &start_rate)| {
            end.rates()
                .get(&currency)
                .map(|&end_rate| (currency, Fluctuation::between(start_rate, end_rate)))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn rate(value: f64) -> Rate {
        Rate::new(value).unwrap()
    }

    #[test]
    fn fixer_example_rounds_to_four_places() {
        // Fixer's documented example: EUR→USD 2018-02-25 to 2018-02-26.
        let moved = Fluctuation::between(rate(1.228952), rate(1.232735));
        assert_eq!(moved.change, 0.003783);
        assert_eq!(moved.change_pct, 0.307823251);
        let fixer = moved.fixer_rounded();
        assert_eq!(fixer.change, 0.0038);
        assert_eq!(fixer.change_pct, 0.3078);
        assert_eq!(fixer.start_rate.get(), 1.228952);
        assert_eq!(fixer.end_rate.get(), 1.232735);
    }

    #[test]
    fn falls_are_negative_and_no_move_is_zero() {
        let fall = Fluctuation::between(rate(2.0), rate(1.5));
        assert_eq!((fall.change, fall.change_pct), (-0.5, -25.0));
        let still = Fluctuation::between(rate(1.1), rate(1.1));
        assert_eq!((still.change, still.change_pct), (0.0, 0.0));
    }

    #[test]
    fn tables_give_the_currencies_held_on_both_days_in_the_start_base() {
        let start = RateTable::from_raw(
            date!(2024 - 01 - 02),
            Currency::EUR,
            [("USD", 1.1), ("GBP", 0.8), ("JPY", 150.0)],
        )
        .unwrap();
        let end = RateTable::from_raw(
            date!(2024 - 02 - 01),
            Currency::EUR,
            [("USD", 1.2), ("GBP", 0.84)],
        )
        .unwrap();
        let moves = fluctuation(&start, &end).unwrap();
        assert_eq!(moves.len(), 2);
        let gbp = moves.get(&Currency::parse("GBP").unwrap()).unwrap();
        assert_eq!(gbp.change, 0.04);
        assert_eq!(gbp.change_pct, 5.0);

        let in_usd = start.rebase(Currency::USD).unwrap();
        let moves = fluctuation(&in_usd, &end).unwrap();
        let eur = moves.get(&Currency::EUR).unwrap();
        assert_eq!(eur.start_rate.get(), 0.9090909091);
        assert_eq!(eur.end_rate.get(), 0.8333333333);
        assert_eq!(moves.get(&Currency::USD).unwrap().change, 0.0);

        let no_usd =
            RateTable::from_raw(date!(2024 - 02 - 01), Currency::EUR, [("GBP", 0.84)]).unwrap();
        assert!(matches!(
            fluctuation(&in_usd, &no_usd),
            Err(DomainError::CurrencyNotHeld { .. })
        ));
    }

    #[test]
    fn extreme_moves_stay_finite() {
        let moved = Fluctuation::between(rate(f64::MIN_POSITIVE), rate(f64::MAX));
        assert!(moved.change.is_finite() && moved.change_pct.is_finite());
        assert!(moved.fixer_rounded().change_pct.is_finite());
    }
}
