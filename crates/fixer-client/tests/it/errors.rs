//! Every error family, as the client classifies it.

use fixer_client::mock::{Fault, MockFixer, MockHost, Plan};
use fixer_client::{
    AccessKey, ConvertRequest, CurrencyCode, Endpoint, Error, FixerErrorKind, RatesOptions,
    RequestError, RetryPolicy,
};
use time::{Duration, OffsetDateTime};

use crate::helpers::{code, day, TestResult};

/// Every documented code with the kind it must map to.
const CODES: &[(i64, FixerErrorKind)] = &[
    (404, FixerErrorKind::NotFound),
    (101, FixerErrorKind::InvalidAccessKey),
    (102, FixerErrorKind::InactiveUser),
    (103, FixerErrorKind::InvalidApiFunction),
    (104, FixerErrorKind::UsageLimitReached),
    (105, FixerErrorKind::FunctionAccessRestricted),
    (106, FixerErrorKind::NoRatesAvailable),
    (201, FixerErrorKind::InvalidBaseCurrency),
    (202, FixerErrorKind::InvalidCurrencyCodes),
    (301, FixerErrorKind::NoDateSpecified),
    (302, FixerErrorKind::InvalidDate),
    (402, FixerErrorKind::InvalidConversionCurrency),
    (403, FixerErrorKind::InvalidConversionAmount),
    (501, FixerErrorKind::NoTimeframeSupplied),
    (502, FixerErrorKind::InvalidStartDate),
    (503, FixerErrorKind::InvalidEndDate),
    (504, FixerErrorKind::InvalidTimeFrame),
    (505, FixerErrorKind::TimeFrameTooLong),
    (999, FixerErrorKind::Unknown),
];

#[test]
fn every_fixer_code_keeps_code_type_and_info_and_is_not_retried() -> TestResult {
    let mock = MockFixer::start();
    let client = mock.client();
    for (code, kind) in CODES {
        mock.reset_counts();
        mock.fail_next(1, Fault::fixer(*code));
        let error = client
            .latest(&RatesOptions::new())
            .err()
            .ok_or("no error")?;
        let fixer = error
            .fixer_error()
            .ok_or_else(|| format!("{code}: not a Fixer error: {error}"))?;
        assert_eq!((fixer.code, fixer.kind), (*code, *kind));
        assert!(fixer.error_type.is_some(), "{code}: type dropped");
        assert_eq!(error.endpoint(), Some(Endpoint::Latest));
        assert!(error.to_string().contains(&code.to_string()), "{error}");
        assert!(!error.is_retryable(), "{code} retryable");
        assert_eq!(mock.total_requests(), 1, "{code} was retried");
    }
    Ok(())
}

#[test]
fn the_three_105s_are_told_apart_over_http() -> TestResult {
    let mock = MockFixer::start().with_plan(Plan::Free);
    let client = mock.client();
    let timeseries = client
        .timeseries(day("2024-03-01")?, day("2024-03-10")?, &RatesOptions::new())
        .err()
        .ok_or("Free plan served timeseries")?;
    assert!(timeseries.is_function_restricted(), "{timeseries}");
    let base = client
        .historical(day("2024-03-01")?, &RatesOptions::new().base(code("USD")))
        .err()
        .ok_or("Free plan served base USD")?;
    assert!(base.is_base_currency_restricted(), "{base}");
    assert!(!base.is_function_restricted());
    mock.fail_next(1, Fault::fixer_typed(105, "https_access_restricted"));
    let https = client
        .latest(&RatesOptions::new())
        .err()
        .ok_or("no error")?;
    assert_eq!(
        https.fixer_kind(),
        Some(FixerErrorKind::HttpsAccessRestricted)
    );
    let message = https.to_string();
    assert!(
        message.contains("http://") && message.contains("upgrade"),
        "{message}"
    );
    assert!(
        message.contains("Subscription Plan does not support HTTPS"),
        "info kept: {message}"
    );
    Ok(())
}

#[test]
fn plans_gate_endpoints_like_fixer() -> TestResult {
    let mock = MockFixer::start().with_plan(Plan::Basic);
    let client = mock.client();
    let (start, end) = (day("2024-03-01")?, day("2024-03-05")?);
    client.convert(&ConvertRequest::new(CurrencyCode::EUR, code("USD"), 1.0).on(start))?;
    client.historical(start, &RatesOptions::new().base(code("GBP")))?;
    assert!(client
        .timeseries(start, end, &RatesOptions::new())
        .err()
        .ok_or("Basic served timeseries")?
        .is_function_restricted());
    mock.set_plan(Plan::Professional);
    client.timeseries(start, end, &RatesOptions::new())?;
    assert!(client
        .fluctuation(start, end, &RatesOptions::new())
        .err()
        .ok_or("Professional served fluctuation")?
        .is_function_restricted());
    mock.set_plan(Plan::Free);
    assert!(client
        .convert(&ConvertRequest::new(CurrencyCode::EUR, code("USD"), 1.0))
        .err()
        .ok_or("Free served convert")?
        .is_function_restricted());
    Ok(())
}

#[test]
fn wrong_key_is_101_on_the_classic_host_after_one_request() -> TestResult {
    let mock = MockFixer::start();
    let client = mock
        .client_builder()
        .access_key(AccessKey::new("not-the-key"))
        .build()?;
    let error = client
        .latest(&RatesOptions::new())
        .err()
        .ok_or("wrong key accepted")?;
    assert_eq!(error.fixer_kind(), Some(FixerErrorKind::InvalidAccessKey));
    assert_eq!(
        error.fixer_error().and_then(|e| e.error_type.as_deref()),
        Some("invalid_access_key")
    );
    assert!(error.is_auth_failure());
    assert_eq!(mock.total_requests(), 1);
    Ok(())
}

#[test]
fn gateway_errors_are_their_own_kind() -> TestResult {
    let mock = MockFixer::builder().host(MockHost::ApiLayer).start();
    let client = mock
        .client_builder()
        .access_key(AccessKey::new("not-the-key"))
        .build()?;
    let error = client.symbols().err().ok_or("wrong key accepted")?;
    match &error {
        Error::Gateway {
            status: 401,
            message,
            ..
        } => assert!(message.contains("Invalid authentication")),
        other => return Err(format!("expected a gateway 401, got {other:?}").into()),
    }
    assert!(error.is_auth_failure() && !error.is_retryable());
    assert_eq!(mock.total_requests(), 1);
    mock.fail_next(
        1,
        Fault::Gateway {
            status: 403,
            message: "You cannot consume this service".into(),
            retry_after: None,
        },
    );
    let error = mock.client().symbols().err().ok_or("no error")?;
    assert!(
        matches!(error, Error::Gateway { status: 403, .. }),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn real_validation_errors_from_the_mock() -> TestResult {
    let mock = MockFixer::start();
    let client = mock.client();
    let unknown = code("XYZ");
    let cases = [
        (
            client.latest(&RatesOptions::new().base(unknown)).err(),
            FixerErrorKind::InvalidBaseCurrency,
        ),
        (
            client
                .latest(&RatesOptions::new().symbols([code("USD"), unknown]))
                .err(),
            FixerErrorKind::InvalidCurrencyCodes,
        ),
        (
            client
                .convert(&ConvertRequest::new(unknown, code("USD"), 1.0))
                .err(),
            FixerErrorKind::InvalidConversionCurrency,
        ),
        (
            client
                .historical(day("2023-12-29")?, &RatesOptions::new())
                .err(),
            FixerErrorKind::NoRatesAvailable,
        ),
    ];
    for (error, kind) in cases {
        let error = error.ok_or("invalid request accepted")?;
        assert_eq!(error.fixer_kind(), Some(kind), "{error}");
    }
    let mock = MockFixer::builder().today(day("2024-03-20")?).start();
    let future = mock
        .client()
        .historical(day("2024-03-21")?, &RatesOptions::new())
        .err()
        .ok_or("future accepted")?;
    assert_eq!(future.fixer_kind(), Some(FixerErrorKind::InvalidDate));
    Ok(())
}

#[test]
fn requests_fixer_would_refuse_are_refused_without_sending() -> TestResult {
    let mock = MockFixer::start();
    let client = mock.client();
    let today = OffsetDateTime::now_utc().date();
    let tomorrow = today + Duration::days(1);
    let options = RatesOptions::new();
    let refusals = [
        client.historical(tomorrow, &options).err(),
        client
            .timeseries(day("2024-03-02")?, day("2024-03-01")?, &options)
            .err(),
        client
            .timeseries(day("2024-01-01")?, day("2024-12-31")?, &options)
            .err(),
        client
            .fluctuation(today - Duration::days(2), tomorrow, &options)
            .err(),
        client
            .convert(&ConvertRequest::new(CurrencyCode::EUR, code("USD"), 0.0))
            .err(),
        client
            .convert(&ConvertRequest::new(CurrencyCode::EUR, code("USD"), -5.0))
            .err(),
        client
            .convert(&ConvertRequest::new(
                CurrencyCode::EUR,
                code("USD"),
                f64::NAN,
            ))
            .err(),
        client
            .convert(&ConvertRequest::new(CurrencyCode::EUR, code("USD"), 1.0).on(tomorrow))
            .err(),
    ];
    for refusal in refusals {
        let error = refusal.ok_or("request accepted")?;
        assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
        assert!(!error.is_retryable());
    }
    assert_eq!(mock.total_requests(), 0, "nothing may reach the server");
    let too_long = client
        .timeseries(day("2024-01-01")?, day("2024-12-31")?, &options)
        .err()
        .ok_or("accepted")?;
    assert!(matches!(
        too_long,
        Error::InvalidRequest {
            reason: RequestError::RangeTooLong {
                days: 366,
                max: 365,
                ..
            },
            ..
        }
    ));
    assert!(too_long.to_string().contains("365"), "{too_long}");
    // The longest allowed range reaches the server.
    client.timeseries(
        day("2024-01-01")?,
        day("2024-12-30")?,
        &RatesOptions::new().symbols([code("USD")]),
    )?;
    Ok(())
}

#[test]
fn an_unhandled_http_status_is_an_http_error() -> TestResult {
    let mock = MockFixer::start();
    mock.fail_next(1, Fault::status(418));
    let error = mock.client().symbols().err().ok_or("no error")?;
    match &error {
        Error::Http {
            status: 418,
            body_excerpt,
            url,
            ..
        } => {
            assert!(body_excerpt.contains("418"));
            assert!(url.contains("/api/symbols"), "{url}");
        }
        other => return Err(format!("expected HTTP 418, got {other:?}").into()),
    }
    assert!(!error.is_retryable());
    assert_eq!(mock.total_requests(), 1);
    Ok(())
}

#[test]
fn malformed_bodies_name_the_endpoint_and_are_not_retried() -> TestResult {
    let mock = MockFixer::start();
    let client = mock.client();
    let (start, end) = (day("2024-03-01")?, day("2024-03-08")?);
    let bodies = [
        Fault::MalformedBody,
        Fault::TruncatedBody,
        Fault::Body {
            status: 200,
            body: r#"{"success":true,"base":"EUR","date":"2024-03-01","rates":{"USD":-1.08}}"#
                .into(),
        },
        Fault::Body {
            status: 200,
            body: r#"{"success":true,"base":"EUR","date":"2024-03-01","rates":{"USDX":1.08}}"#
                .into(),
        },
        Fault::Body {
            status: 200,
            body: r#"{"success":true,"base":"EUR","date":"2024-03-01"}"#.into(),
        },
        Fault::Body {
            status: 200,
            body: r#"{"success":false}"#.into(),
        },
        Fault::Body {
            status: 200,
            body: String::new(),
        },
    ];
    for fault in bodies {
        for endpoint in [
            Endpoint::Latest,
            Endpoint::Historical,
            Endpoint::Timeseries,
            Endpoint::Fluctuation,
            Endpoint::Convert,
            Endpoint::Symbols,
        ] {
            mock.reset_counts();
            mock.fail_next(1, fault.clone());
            let options = RatesOptions::new();
            let result = match endpoint {
                Endpoint::Latest => client.latest(&options).err(),
                Endpoint::Historical => client.historical(start, &options).err(),
                Endpoint::Timeseries => client.timeseries(start, end, &options).err(),
                Endpoint::Fluctuation => client.fluctuation(start, end, &options).err(),
                Endpoint::Convert => client
                    .convert(&ConvertRequest::new(CurrencyCode::EUR, code("USD"), 2.0))
                    .err(),
                _ => client.symbols().err(),
            };
            let error = result.ok_or_else(|| format!("{endpoint}: {fault:?} accepted"))?;
            assert!(
                matches!(error, Error::MalformedResponse { endpoint: e, .. } if e == endpoint),
                "{endpoint}, {fault:?}: {error:?}"
            );
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("{endpoint}: malformed response")),
                "{error}"
            );
            assert_eq!(mock.total_requests(), 1);
        }
    }
    Ok(())
}

#[test]
fn lenient_where_fixer_is_inconsistent() -> TestResult {
    let mock = MockFixer::start();
    let client = mock
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()?;
    mock.fail_next(1, Fault::Body {
        status: 200,
        body: r#"{"success":true,"query":{"from":"USD","to":"ZAR","amount":25},"info":{"timestamp":1527512649,"rate":12.451198},"historical":"","date":"2018-05-28","result":311.27995}"#.into(),
    });
    let conversion = client.convert(&ConvertRequest::new(code("USD"), code("ZAR"), 25.0))?;
    assert!(!conversion.historical);
    assert_eq!(conversion.rate, 12.451198);
    mock.fail_next(
        1,
        Fault::Body {
            status: 200,
            body:
                r#"{"success":true,"base":"EUR","date":"2024-03-01","rates":{"EUR":1,"JPY":162}}"#
                    .into(),
        },
    );
    let rates = client.latest(&RatesOptions::new())?;
    assert_eq!(rates.rates[&code("JPY")], 162.0);
    assert_eq!(rates.timestamp, None);
    Ok(())
}
