//! Latest and historical rates from the mock Fixer.
//!
//! `cargo run -p fixer-client --example latest --features mock`

use fixer_client::mock::MockFixer;
use fixer_client::{CurrencyCode, RatesOptions};
use time::macros::date;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockFixer::start();
    let client = mock.client();
    println!(
        "mock Fixer at {} (data {}..={})",
        mock.base_url(),
        mock.first_date(),
        mock.last_date()
    );

    let symbols: Vec<CurrencyCode> = ["USD", "GBP", "JPY", "CHF"]
        .into_iter()
        .map(CurrencyCode::new)
        .collect::<Result<_, _>>()?;
    let options = RatesOptions::new().symbols(symbols.iter().copied());

    let latest = client.latest(&options)?;
    println!("latest ({}), 1 {}:", latest.date, latest.base);
    for (currency, rate) in &latest.rates {
        println!("  {currency} {rate}");
    }

    let usd = CurrencyCode::new("USD")?;
    let friday = client.historical(date!(2024 - 03 - 15), &options.clone().base(usd))?;
    println!("{}, 1 {}:", friday.date, friday.base);
    for (currency, rate) in &friday.rates {
        println!("  {currency} {rate}");
    }
    Ok(())
}
