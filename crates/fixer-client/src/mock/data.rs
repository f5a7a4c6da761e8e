//! The mock's rates: a slice of the European Central Bank's reference rates, compiled in.

use std::collections::BTreeMap;

use time::Date;

use crate::decode::parse_date;
use crate::CurrencyCode;

/// ECB reference rates (base EUR) for 2024-01-02..2024-06-28 and 2026-07-01..2026-10-30,
/// in the ECB's own CSV layout (newest first, `N/A` where a currency has no rate).
const ECB_CSV: &str = include_str!("../../data/eurofxref-sample.csv");

/// One business day's EUR-based rates (EUR itself not included).
pub(crate) type DayRates = BTreeMap<CurrencyCode, f64>;

/// The parsed data, oldest first.
#[derive(Debug)]
pub(crate) struct EcbData {
    days: Vec<(Date, DayRates)>,
}

impl EcbData {
    /// Parses the compiled-in CSV. Rows or cells that do not parse are skipped: the file is
    /// fixed at build time and checked by a unit test.
    pub(crate) fn load() -> EcbData {
        let mut lines = ECB_CSV.lines();
        let header: Vec<Option<CurrencyCode>> = lines
            .next()
            .unwrap_or_default()
            .split(',')
            .map(|name| CurrencyCode::new(name.trim()).ok())
            .collect();
        let mut days = Vec::new();
        for line in lines {
            let mut cells = line.split(',');
            let Some(date) = cells.next().and_then(|d| parse_date(d.trim())) else {
                continue;
            };
            let mut rates = DayRates::new();
            for (cell, code) in cells.zip(header.iter().skip(1)) {
                let (Some(code), Ok(rate)) = (code, cell.trim().parse::<f64>()) else {
                    continue;
                };
                if rate.is_finite() && rate > 0.0 {
                    rates.insert(*code, rate);
                }
            }
            days.push((date, rates));
        }
        days.sort_by_key(|(date, _)| *date);
        EcbData { days }
    }

    /// The first business day held.
    pub(crate) fn first_date(&self) -> Option<Date> {
        self.days.first().map(|(date, _)| *date)
    }

    /// The last business day held.
    pub(crate) fn last_date(&self) -> Option<Date> {
        self.days.last().map(|(date, _)| *date)
    }

    /// Every business day held.
    pub(crate) fn dates(&self) -> Vec<Date> {
        self.days.iter().map(|(date, _)| *date).collect()
    }

    /// The rates in force on `date`: that day's, or the last earlier business day's.
    pub(crate) fn in_force(&self, date: Date) -> Option<(Date, &DayRates)> {
        let after = self.days.partition_point(|(day, _)| *day <= date);
        let index = after.checked_sub(1)?;
        self.days.get(index).map(|(day, rates)| (*day, rates))
    }

    /// Every currency that has a rate on some day, EUR included.
    pub(crate) fn currencies(&self) -> Vec<CurrencyCode> {
        let mut all: Vec<CurrencyCode> = self
            .days
            .iter()
            .flat_map(|(_, rates)| rates.keys().copied())
            .chain([CurrencyCode::EUR])
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Display names for the currencies the ECB publishes.
pub(crate) fn currency_name(code: CurrencyCode) -> &'static str {
    match code.as_str() {
        "AUD" => "Australian Dollar",
        "BGN" => "Bulgarian Lev",
        "BRL" => "Brazilian Real",
        "CAD" => "Canadian Dollar",
        "CHF" => "Swiss Franc",
        "CNY" => "Chinese Yuan",
        "CZK" => "Czech Republic Koruna",
        "DKK" => "Danish Krone",
        "EUR" => "Euro",
        "GBP" => "British Pound Sterling",
        "HKD" => "Hong Kong Dollar",
        "HRK" => "Croatian Kuna",
        "HUF" => "Hungarian Forint",
        "IDR" => "Indonesian Rupiah",
        "ILS" => "Israeli New Sheqel",
        "INR" => "Indian Rupee",
        "ISK" => "Icelandic Króna",
        "JPY" => "Japanese Yen",
        "KRW" => "South Korean Won",
        "MXN" => "Mexican Peso",
        "MYR" => "Malaysian Ringgit",
        "NOK" => "Norwegian Krone",
        "NZD" => "New Zealand Dollar",
        "PHP" => "Philippine Peso",
        "PLN" => "Polish Zloty",
        "RON" => "Romanian Leu",
        "RUB" => "Russian Ruble",
        "SEK" => "Swedish Krona",
        "SGD" => "Singapore Dollar",
        "THB" => "Thai Baht",
        "TRY" => "Turkish Lira",
        "USD" => "United States Dollar",
        "ZAR" => "South African Rand",
        _ => "Unnamed currency",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_compiled_in_csv_parses_completely() {
        let data = EcbData::load();
        let data_lines = ECB_CSV.lines().count() - 1;
        assert_eq!(data.dates().len(), data_lines);
        assert_eq!(data.first_date(), Some(date!(2024 - 01 - 02)));
        assert_eq!(data.last_date(), Some(date!(2026 - 10 - 30)));
        let usd = CurrencyCode::new("USD").unwrap();
        assert_eq!(
            data.in_force(date!(2024 - 01 - 02)).unwrap().1[&usd],
            1.0956
        );
        for code in data.currencies() {
            assert_ne!(currency_name(code), "Unnamed currency", "{code}");
        }
    }

    #[test]
    fn weekends_and_gaps_carry_the_last_business_day() {
        let data = EcbData::load();
        let (day, _) = data.in_force(date!(2024 - 01 - 06)).unwrap();
        assert_eq!(day, date!(2024 - 01 - 05));
        let (day, _) = data.in_force(date!(2025 - 01 - 01)).unwrap();
        assert_eq!(day, date!(2024 - 06 - 28));
        assert!(data.in_force(date!(2024 - 01 - 01)).is_none());
    }
}
