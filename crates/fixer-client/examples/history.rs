//! A week of rates, a fluctuation and a conversion from the mock Fixer.
//!
//! `cargo run -p fixer-client --example history --features mock`

use fixer_client::mock::MockFixer;
use fixer_client::{ConvertRequest, CurrencyCode, RatesOptions};
use time::macros::date;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockFixer::start();
    let client = mock.client();
    let usd = CurrencyCode::new("USD")?;
    let gbp = CurrencyCode::new("GBP")?;
    let options = RatesOptions::new().symbols([usd, gbp]);

    let week = client.timeseries(date!(2024 - 03 - 11), date!(2024 - 03 - 17), &options)?;
    println!("EUR rates {}..={}:", week.start_date, week.end_date);
    for (day, rates) in &week.rates {
        println!(
            "  {day} {day_name:<9} USD {} GBP {}",
            rates[&usd],
            rates[&gbp],
            day_name = day.weekday()
        );
    }

    let half_year = client.fluctuation(date!(2024 - 01 - 02), date!(2024 - 06 - 28), &options)?;
    for (currency, change) in &half_year.rates {
        println!(
            "{currency}: {} -> {} ({:+}, {:+}%)",
            change.start_rate, change.end_rate, change.change, change.change_pct
        );
    }

    let conversion =
        client.convert(&ConvertRequest::new(gbp, usd, 250.0).on(date!(2024 - 06 - 28)))?;
    println!(
        "{} {} = {} {} on {} (rate {})",
        conversion.amount,
        conversion.from,
        conversion.result,
        conversion.to,
        conversion.date,
        conversion.rate
    );
    Ok(())
}
