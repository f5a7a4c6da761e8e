//! One day's rates in one base: validation, rebasing, filtering and conversion.

use std::collections::BTreeMap;

use time::Date;

use crate::currency::{Currency, CurrencyError};
use crate::dates::format_date;
use crate::rate::{round_computed, Rate, RateError};

/// One day's rates in one base currency: `rates[X]` is how many X one unit of `base` buys.
///
/// Invariants: at least one rate; if the base itself is listed, its rate is exactly 1.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTable {
    date: Date,
    base: Currency,
    rates: BTreeMap<Currency, Rate>,
}

/// The rates of a table quoted against another base, one by one in code order: see
/// [`RateTable::rebased_rates`].
#[derive(Debug, Clone)]
pub struct RebasedRates<'a> {
    table: &'a RateTable,
    new_base: Currency,
    /// The stored rate of the new base; `None` when the base stays (values pass untouched).
    divisor: Option<f64>,
    stored: std::iter::Peekable<std::collections::btree_map::Iter<'a, Currency, Rate>>,
    /// The old and the new base in code order; those before `next_added` are given out.
    added: [Currency; 2],
    next_added: usize,
}

impl Iterator for RebasedRates<'_> {
    type Item = Result<(Currency, Rate), DomainError>;

    fn next(&mut self) -> Option<Self::Item> {
        let Some(divisor) = self.divisor else {
            return self
                .stored
                .next()
                .map(|(&currency, &rate)| Ok((currency, rate)));
        };
        loop {
            let added = self.added.get(self.next_added).copied();
            let stored = self.stored.peek().map(|(&currency, _)| currency);
            if let Some(added) = added.filter(|&added| stored.is_none_or(|next| added <= next)) {
                self.next_added += 1;
                if added == self.new_base {
                    return Some(Ok((added, Rate::ONE)));
                }
                let rate = self.table.computed(added, 1.0 / divisor);
                return Some(rate.map(|rate| (added, rate)));
            }
            let (&currency, rate) = self.stored.next()?;
            // Both bases are given out from `added`.
            if currency == self.new_base || currency == self.table.base {
                continue;
            }
            let rate = self.table.computed(currency, rate.get() / divisor);
            return Some(rate.map(|rate| (currency, rate)));
        }
    }
}

/// The outcome of converting an amount between two currencies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    /// Units of the target currency per unit of the source currency on that date.
    pub rate: Rate,
    /// `amount × rate`, rounded to [`PRECISION`](crate::PRECISION) significant digits.
    pub result: f64,
}

impl RateTable {
    /// Builds a table from already validated rates.
    ///
    /// Fails when `rates` is empty or lists the base with a rate other than 1.
    pub fn new(
        date: Date,
        base: Currency,
        rates: BTreeMap<Currency, Rate>,
    ) -> Result<RateTable, TableError> {
        if rates.is_empty() {
            return Err(TableError::Empty { date, base });
        }
        if let Some(rate) = rates.get(&base) {
            if rate.get() != 1.0 {
                return Err(TableError::BaseRateNotOne {
                    date,
                    base,
                    value: rate.get(),
                });
            }
        }
        Ok(RateTable { date, base, rates })
    }

    /// Validates an incoming table: every code must be a currency code (any case) listed once,
    /// every value finite and greater than zero, the base (if listed) exactly 1, and at least one
    /// rate present. The error names the first offending code and value.
    pub fn from_raw<I, S>(date: Date, base: Currency, raw: I) -> Result<RateTable, TableError>
    where
        I: IntoIterator<Item = (S, f64)>,
        S: AsRef<str>,
    {
        let mut rates = BTreeMap::new();
        for (code, value) in raw {
            let code = code.as_ref();
            let currency = Currency::parse(code)
                .map_err(|source| TableError::InvalidCurrency { date, source })?;
            let rate = Rate::new(value).map_err(|source| TableError::InvalidRate {
                date,
                currency,
                source,
            })?;
            if rates.insert(currency, rate).is_some() {
                return Err(TableError::DuplicateCurrency { date, currency });
            }
        }
        RateTable::new(date, base, rates)
    }

    /// The day these rates apply to.
    pub fn date(&self) -> Date {
        self.date
    }

    /// The currency the rates are quoted against.
    pub fn base(&self) -> Currency {
        self.base
    }

    /// The rates, by currency, in code order.
    pub fn rates(&self) -> &BTreeMap<Currency, Rate> {
        &self.rates
    }

    /// Takes the rates out of the table.
    pub fn into_rates(self) -> BTreeMap<Currency, Rate> {
        self.rates
    }

    /// Number of rates listed.
    pub fn len(&self) -> usize {
        self.rates.len()
    }

    /// Always false: a table holds at least one rate. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }

    /// The rate base→`currency`: the stored value, or exactly 1 for the base itself.
    pub fn rate(&self, currency: Currency) -> Option<Rate> {
        if currency == self.base {
            return Some(Rate::ONE);
        }
        self.rates.get(&currency).copied()
    }

    /// Whether the table can price `currency` (the base always can).
    pub fn holds(&self, currency: Currency) -> bool {
        self.rate(currency).is_some()
    }

    fn require(&self, currency: Currency) -> Result<Rate, DomainError> {
        self.rate(currency).ok_or(DomainError::CurrencyNotHeld {
            currency,
            date: self.date,
            base: self.base,
        })
    }

    /// The same day's rates quoted against `new_base`, which must be held in the table.
    ///
    /// rate(B→X) = rate(E→X) / rate(E→B), rounded to [`PRECISION`](crate::PRECISION)
    /// significant digits; the old base appears with 1/rate(E→B) and the new base with exactly 1.
    /// Rebasing to the current base returns the stored values untouched.
    pub fn rebase(&self, new_base: Currency) -> Result<RateTable, DomainError> {
        if new_base == self.base {
            return Ok(self.clone());
        }
        Ok(RateTable {
            date: self.date,
            base: new_base,
            rates: self.rebased_rates(new_base)?.collect::<Result<_, _>>()?,
        })
    }

    /// The rates of [`RateTable::rebase`]`(new_base)`, one by one in code order, without building
    /// the table: for writing a long range out without an allocation per day. `new_base` must be
    /// held; a value that cannot be represented is an error when its turn comes.
    pub fn rebased_rates(&self, new_base: Currency) -> Result<RebasedRates<'_>, DomainError> {
        let divisor = if new_base == self.base {
            None
        } else {
            Some(self.require(new_base)?.get())
        };
        // The two entries the stored rates do not give, the old base (1/rate, rounded) and the
        // new base (exactly 1), in code order so that they merge into the stored order.
        let added = if self.base < new_base {
            [self.base, new_base]
        } else {
            [new_base, self.base]
        };
        Ok(RebasedRates {
            table: self,
            new_base,
            divisor,
            stored: self.rates.iter().peekable(),
            added,
            next_added: 0,
        })
    }

    fn computed(&self, currency: Currency, value: f64) -> Result<Rate, DomainError> {
        Rate::new(round_computed(value)).map_err(|_| DomainError::ComputedRateOutOfRange {
            currency,
            date: self.date,
        })
    }

    /// The table restricted to `symbols`, each of which must be held (the base is always held,
    /// with rate 1). An empty list keeps every rate.
    pub fn only(&self, symbols: &[Currency]) -> Result<RateTable, DomainError> {
        if symbols.is_empty() {
            return Ok(self.clone());
        }
        let mut rates = BTreeMap::new();
        for &symbol in symbols {
            rates.insert(symbol, self.require(symbol)?);
        }
        Ok(RateTable {
            date: self.date,
            base: self.base,
            rates,
        })
    }

    /// Converts `amount` of `from` into `to` at this day's rates.
    ///
    /// When one side is the base the stored rate is used as is (or its inverse, rounded);
    /// otherwise the cross rate is computed and rounded. The result is rounded too.
    /// `amount` must be finite.
    pub fn convert(
        &self,
        from: Currency,
        to: Currency,
        amount: f64,
    ) -> Result<Conversion, DomainError> {
        if !amount.is_finite() {
            return Err(DomainError::InvalidAmount { amount });
        }
        let from_rate = self.require(from)?;
        let to_rate = self.require(to)?;
        let rate = if from == to {
            Rate::ONE
        } else if from == self.base {
            to_rate
        } else {
            self.computed(to, to_rate.get() / from_rate.get())?
        };
        let result = round_computed(amount * rate.get());
        // A finite amount is valid input; a result that leaves the range of f64 (or a non-zero
        // amount that comes out as zero) is a value the answer cannot hold.
        if !result.is_finite() || (result == 0.0 && amount != 0.0) {
            return Err(DomainError::ConvertedAmountOutOfRange {
                amount,
                from,
                to,
                date: self.date,
            });
        }
        Ok(Conversion { rate, result })
    }
}

/// An incoming rate table that cannot be stored or served.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    /// A listed code is not a currency code.
    #[error("rates for {}: {source}", format_date(*date))]
    InvalidCurrency {
        /// The day of the table.
        date: Date,
        /// Which code and why.
        source: CurrencyError,
    },
    /// A listed value is not a valid rate.
    #[error("rates for {}: {currency}: {source}", format_date(*date))]
    InvalidRate {
        /// The day of the table.
        date: Date,
        /// The currency whose value is wrong.
        currency: Currency,
        /// What is wrong with the value.
        source: RateError,
    },
    /// The same currency is listed twice (possibly in different cases).
    #[error("rates for {}: {currency} is listed more than once", format_date(*date))]
    DuplicateCurrency {
        /// The day of the table.
        date: Date,
        /// The repeated currency.
        currency: Currency,
    },
    /// The base is listed with a rate other than 1.
    #[error(
        "rates for {}: the base {base} is listed with rate {value}, expected 1",
        format_date(*date)
    )]
    BaseRateNotOne {
        /// The day of the table.
        date: Date,
        /// The base currency.
        base: Currency,
        /// The value given for the base.
        value: f64,
    },
    /// No rates at all.
    #[error("rates for {} in base {base}: no rates listed", format_date(*date))]
    Empty {
        /// The day of the table.
        date: Date,
        /// The base currency.
        base: Currency,
    },
}

/// A request a rate table cannot answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The table has no rate for a currency that was asked for.
    #[error("no {currency} rate on {} (base {base})", format_date(*date))]
    CurrencyNotHeld {
        /// The currency asked for.
        currency: Currency,
        /// The day of the table.
        date: Date,
        /// The base of the table.
        base: Currency,
    },
    /// The amount to convert is not a finite number.
    #[error("amount {amount} cannot be converted: it must be a finite number")]
    InvalidAmount {
        /// The amount given.
        amount: f64,
    },
    /// The converted amount is outside the range of `f64`: it overflows, or a non-zero amount
    /// comes out as zero.
    #[error(
        "the amount converted from {from} to {to} on {} is outside the range of a 64-bit float \
         (up to about 1.8e308, and not zero for a non-zero amount)",
        format_date(*date)
    )]
    ConvertedAmountOutOfRange {
        /// The amount given.
        amount: f64,
        /// The currency converted from.
        from: Currency,
        /// The currency converted to.
        to: Currency,
        /// The day of the table.
        date: Date,
    },
    /// A computed rate fell outside what a rate can hold (overflow or underflow).
    #[error("the computed {currency} rate on {} is out of range", format_date(*date))]
    ComputedRateOutOfRange {
        /// The currency whose rate could not be computed.
        currency: Currency,
        /// The day of the table.
        date: Date,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn code(text: &str) -> Currency {
        Currency::parse(text).unwrap()
    }

    /// ECB reference rates of 2024-01-02.
    fn ecb_table() -> RateTable {
        RateTable::from_raw(
            date!(2024 - 01 - 02),
            Currency::EUR,
            [
                ("USD", 1.0956),
                ("JPY", 155.52),
                ("GBP", 0.86645),
                ("CHF", 0.9305),
                ("IDR", 17006.07),
            ],
        )
        .unwrap()
    }

    #[test]
    fn from_raw_normalises_codes_and_keeps_values_exactly() {
        let table =
            RateTable::from_raw(date!(2024 - 01 - 02), Currency::EUR, [("usd", 1.1172)]).unwrap();
        assert_eq!(table.rate(code("USD")).unwrap().get(), 1.1172);
        assert_eq!(table.rate(code("USD")).unwrap().to_string(), "1.1172");
    }

    #[test]
    fn from_raw_errors_name_the_code_and_value() {
        let day = date!(2024 - 01 - 02);
        let error =
            RateTable::from_raw(day, Currency::EUR, [("USD", 1.0), ("GBP", -0.5)]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "rates for 2024-01-02: GBP: rate -0.5 is not greater than zero"
        );
        let error = RateTable::from_raw(day, Currency::EUR, [("US$", 1.0)]).unwrap_err();
        assert!(error.to_string().contains("\"US$\""), "{error}");
        let error = RateTable::from_raw(day, Currency::EUR, [("JPY", f64::NAN)]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("JPY: rate NaN is not a finite number"),
            "{error}"
        );
        let error =
            RateTable::from_raw(day, Currency::EUR, [("usd", 1.0), ("USD", 1.0)]).unwrap_err();
        assert!(
            error.to_string().contains("USD is listed more than once"),
            "{error}"
        );
        let error = RateTable::from_raw(day, Currency::EUR, [("EUR", 1.5)]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("base EUR is listed with rate 1.5"),
            "{error}"
        );
        let error =
            RateTable::from_raw(day, Currency::EUR, Vec::<(String, f64)>::new()).unwrap_err();
        assert!(error.to_string().contains("no rates"), "{error}");
    }

    #[test]
    fn from_raw_accepts_the_base_at_one() {
        let table = RateTable::from_raw(
            date!(2024 - 01 - 02),
            Currency::EUR,
            [("EUR", 1.0), ("USD", 1.1)],
        )
        .unwrap();
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn rebase_divides_by_the_new_base_and_rounds() {
        let usd = ecb_table().rebase(Currency::USD).unwrap();
        assert_eq!(usd.base(), Currency::USD);
        assert_eq!(usd.rate(Currency::USD), Some(Rate::ONE));
        assert_eq!(usd.rates().get(&Currency::USD), Some(&Rate::ONE));
        // 155.52 / 1.0956 = 141.949616648...
        assert_eq!(usd.rate(code("JPY")).unwrap().get(), 141.9496166);
        // 1 / 1.0956 = 0.91274187659...
        assert_eq!(usd.rate(Currency::EUR).unwrap().get(), 0.9127418766);
        assert_eq!(usd.len(), 6);
    }

    #[test]
    fn rebased_rates_come_in_code_order_with_both_bases_merged_in() {
        let table = ecb_table();
        let usd: Vec<(Currency, Rate)> = table
            .rebased_rates(Currency::USD)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let codes: Vec<&str> = usd.iter().map(|(currency, _)| currency.as_str()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
        assert!(codes.contains(&"EUR") && codes.contains(&"USD"));
        assert_eq!(usd.len(), 6);
        // Every base gives what `rebase` gives, value for value.
        for base in table.rates().keys().copied().chain([Currency::EUR]) {
            let rebased = table.rebase(base).unwrap();
            let one_by_one: BTreeMap<Currency, Rate> = table
                .rebased_rates(base)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(&one_by_one, rebased.rates(), "{base}");
            assert_eq!(table.rebased_rates(base).unwrap().count(), rebased.len());
        }
        let error = table.rebased_rates(code("XAU")).unwrap_err();
        assert_eq!(error.to_string(), "no XAU rate on 2024-01-02 (base EUR)");
    }

    #[test]
    fn rebase_to_the_same_base_keeps_stored_values() {
        let table = ecb_table();
        assert_eq!(table.rebase(Currency::EUR).unwrap(), table);
    }

    #[test]
    fn rebase_to_a_currency_not_held_is_an_error() {
        let error = ecb_table().rebase(code("XAU")).unwrap_err();
        assert_eq!(error.to_string(), "no XAU rate on 2024-01-02 (base EUR)");
    }

    #[test]
    fn only_keeps_the_symbols_asked_for() {
        let table = ecb_table().only(&[code("GBP"), Currency::EUR]).unwrap();
        assert_eq!(
            table
                .rates()
                .keys()
                .map(Currency::as_str)
                .collect::<Vec<_>>(),
            vec!["EUR", "GBP"]
        );
        assert_eq!(table.rate(code("GBP")).unwrap().get(), 0.86645);
        assert_eq!(ecb_table().only(&[]).unwrap(), ecb_table());
        let error = ecb_table().only(&[code("GBP"), code("ABC")]).unwrap_err();
        assert_eq!(
            error,
            DomainError::CurrencyNotHeld {
                currency: code("ABC"),
                date: date!(2024 - 01 - 02),
                base: Currency::EUR
            }
        );
    }

    #[test]
    fn convert_uses_stored_rates_from_the_base_and_cross_rates_otherwise() {
        let table = ecb_table();
        let direct = table.convert(Currency::EUR, Currency::USD, 25.0).unwrap();
        assert_eq!(direct.rate.get(), 1.0956);
        assert_eq!(direct.result, 27.39);
        let cross = table.convert(code("GBP"), Currency::USD, 10.0).unwrap();
        // 1.0956 / 0.86645 = 1.26446996364...
        assert_eq!(cross.rate.get(), 1.264469964);
        assert_eq!(cross.result, 12.64469964);
        let same = table.convert(code("JPY"), code("JPY"), 3.5).unwrap();
        assert_eq!((same.rate, same.result), (Rate::ONE, 3.5));
    }

    #[test]
    fn convert_rejects_non_finite_amounts_and_unknown_currencies() {
        let table = ecb_table();
        assert!(matches!(
            table.convert(Currency::EUR, Currency::USD, f64::NAN),
            Err(DomainError::InvalidAmount { .. })
        ));
        assert!(matches!(
            table.convert(code("XXX"), Currency::USD, 1.0),
            Err(DomainError::CurrencyNotHeld { .. })
        ));
    }

    #[test]
    fn a_result_outside_the_range_of_f64_is_out_of_range_not_an_invalid_amount() {
        let table = ecb_table();
        let error = table.convert(code("JPY"), code("IDR"), 1e308).unwrap_err();
        assert_eq!(
            error,
            DomainError::ConvertedAmountOutOfRange {
                amount: 1e308,
                from: code("JPY"),
                to: code("IDR"),
                date: date!(2024 - 01 - 02)
            }
        );
        assert_eq!(
            error.to_string(),
            "the amount converted from JPY to IDR on 2024-01-02 is outside the range of a 64-bit float (up to about 1.8e308, and not zero for a non-zero amount)"
        );
        assert!(matches!(
            table.convert(Currency::EUR, Currency::USD, f64::MAX),
            Err(DomainError::ConvertedAmountOutOfRange { .. })
        ));
        // A stored rate near the top of the range overflows an ordinary amount.
        let extreme =
            RateTable::from_raw(date!(2024 - 01 - 02), Currency::EUR, [("XAU", 1e308)]).unwrap();
        assert!(matches!(
            extreme.convert(Currency::EUR, code("XAU"), 10.0),
            Err(DomainError::ConvertedAmountOutOfRange { .. })
        ));
        // A non-zero amount that underflows to zero cannot be answered either; zero can.
        assert!(matches!(
            table.convert(code("IDR"), Currency::EUR, 5e-324),
            Err(DomainError::ConvertedAmountOutOfRange { .. })
        ));
        assert_eq!(
            table
                .convert(code("IDR"), Currency::EUR, 0.0)
                .unwrap()
                .result,
            0.0
        );
        assert!(matches!(
            table.convert(code("XXX"), Currency::USD, 1.0),
            Err(DomainError::CurrencyNotHeld { .. })
        ));
    }

    mod properties {
        use super::*;
        use proptest::collection::btree_map;
        use proptest::prelude::*;

        fn rate_value() -> impl Strategy<Value = f64> {
            // Realistic rates span from ~1e-5 (e.g. EUR per IDR-like units) to ~1e5.
            (-5.0f64..5.0).prop_map(|exponent| round_computed(10f64.powf(exponent)))
        }

        fn table() -> impl Strategy<Value = RateTable> {
            btree_map("[A-Z]{3}", rate_value(), 1..40).prop_filter_map(
                "the base must not be among the quoted currencies",
                |raw| {
                    if raw.contains_key("EUR") {
                        return None;
                    }
                    RateTable::from_raw(date!(2024 - 06 - 03), Currency::EUR, raw).ok()
                },
            )
        }

        fn close(a: f64, b: f64) -> bool {
            // Two roundings of 5e-10 each, plus float error.
            ((a - b) / b).abs() <= 1.5e-9
        }

        proptest! {
            #[test]
            fn rebasing_there_and_back_gives_the_original(table in table(), pick in any::<prop::sample::Index>()) {
                let codes: Vec<Currency> = table.rates().keys().copied().collect();
                let new_base = *pick.get(&codes);
                let back = table.rebase(new_base)?.rebase(Currency::EUR)?;
                prop_assert_eq!(back.base(), Currency::EUR);
                prop_assert_eq!(back.rate(Currency::EUR), Some(Rate::ONE));
                for (currency, rate) in table.rates() {
                    let again = back.rate(*currency).unwrap().get();
                    prop_assert!(close(again, rate.get()), "{currency}: {} -> {again}", rate.get());
                }
            }

            #[test]
            fn a_currency_against_itself_is_one(table in table(), pick in any::<prop::sample::Index>()) {
                let codes: Vec<Currency> = table.rates().keys().copied().collect();
                let new_base = *pick.get(&codes);
                let rebased = table.rebase(new_base)?;
                prop_assert_eq!(rebased.rate(new_base), Some(Rate::ONE));
                prop_assert_eq!(rebased.rates().get(&new_base), Some(&Rate::ONE));
                let conversion = table.convert(new_base, new_base, 7.0)?;
                prop_assert_eq!(conversion.rate, Rate::ONE);
            }

            #[test]
            fn rebased_rates_follow_the_formula(table in table(), pick in any::<prop::sample::Index>()) {
                let codes: Vec<Currency> = table.rates().keys().copied().collect();
                let new_base = *pick.get(&codes);
                let rebased = table.rebase(new_base)?;
                let base_rate = table.rate(new_base).unwrap().get();
                for (currency, rate) in table.rates() {
                    let expected = rate.get() / base_rate;
                    prop_assert!(close(rebased.rate(*currency).unwrap().get(), expected));
                }
            }
        }
    }
}
