//! Which failures are retried, how often, and how long the client waits.

use std::time::{Duration, Instant};

use fixer_client::mock::{Fault, MockFixer, MockHost};
use fixer_client::{Error, RatesOptions, RetryPolicy, TransportKind};

use crate::helpers::{client_with, day, quick_policy, TestResult};

#[test]
fn two_503s_then_success_takes_three_requests() -> TestResult {
    let mock = MockFixer::start();
    mock.fail_next(2, Fault::status(503));
    let rates = client_with(&mock, quick_policy(5))?.latest(&RatesOptions::new())?;
    assert!(!rates.rates.is_empty());
    assert_eq!(mock.request_count("latest"), 3);
    Ok(())
}

#[test]
fn an_invalid_key_is_one_request() -> TestResult {
    let mock = MockFixer::start();
    mock.fail_next(3, Fault::fixer(101));
    let error = client_with(&mock, quick_policy(5))?
        .latest(&RatesOptions::new())
        .err()
        .ok_or("no error")?;
    assert!(error.is_auth_failure());
    assert_eq!(mock.request_count("latest"), 1);
    Ok(())
}

#[test]
fn permanent_failures_return_after_one_request() -> TestResult {
    let mock = MockFixer::start();
    let client = client_with(&mock, quick_policy(5))?;
    let faults = [
        Fault::fixer(104),
        Fault::fixer(105),
        Fault::fixer(202),
        Fault::fixer(302),
        Fault::status(404),
        Fault::MalformedBody,
    ];
    for fault in faults {
        mock.reset_counts();
        mock.clear_faults();
        mock.fail_next(5, fault.clone());
        let error = client
            .latest(&RatesOptions::new())
            .err()
            .ok_or("no error")?;
        assert!(!error.is_retryable(), "{fault:?}: {error}");
        assert_eq!(mock.total_requests(), 1, "{fault:?} was retried");
    }
    Ok(())
}

#[test]
fn transient_failures_are_retried() -> TestResult {
    let mock = MockFixer::start();
    let client = client_with(&mock, quick_policy(3))?;
    for fault in [
        Fault::status(500),
        Fault::status(502),
        Fault::status(524),
        Fault::status(429),
        Fault::Gateway {
            status: 503,
            message: "upstream".into(),
            retry_after: None,
        },
    ] {
        mock.reset_counts();
        mock.fail_next(2, fault.clone());
        client.latest(&RatesOptions::new())?;
        assert_eq!(mock.total_requests(), 3, "{fault:?}");
    }
    Ok(())
}

#[test]
fn attempts_are_bounded_and_the_last_error_is_kept() -> TestResult {
    let mock = MockFixer::start();
    mock.fail_next(10, Fault::status(503));
    let error = client_with(&mock, quick_policy(4))?
        .latest(&RatesOptions::new())
        .err()
        .ok_or("no error")?;
    match &error {
        Error::RetriesExhausted {
            attempts: 4, last, ..
        } => {
            assert!(
                matches!(**last, Error::Http { status: 503, .. }),
                "{last:?}"
            );
        }
        other => return Err(format!("expected RetriesExhausted after 4, got {other:?}").into()),
    }
    assert!(
        error.to_string().contains("gave up after 4 attempts"),
        "{error}"
    );
    assert_eq!(mock.total_requests(), 4);
    Ok(())
}

#[test]
fn back_off_waits_at_least_half_of_each_ceiling() -> TestResult {
    let mock = MockFixer::start();
    let policy = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(60),
        max_elapsed: Duration::from_secs(10),
    };
    mock.fail_next(2, Fault::status(503));
    let started = Instant::now();
    client_with(&mock, policy)?.latest(&RatesOptions::new())?;
    // Retry 1 waits in [20, 40] ms, retry 2 in [30, 60] ms.
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(mock.total_requests(), 3);
    Ok(())
}

#[test]
fn total_time_bounds_retries() -> TestResult {
    let mock = MockFixer::start();
    let policy = RetryPolicy {
        max_attempts: 100,
        initial_backoff: Duration::from_millis(60),
        max_backoff: Duration::from_millis(60),
        max_elapsed: Duration::from_millis(100),
    };
    mock.fail_next(100, Fault::status(503));
    let error = client_with(&mock, policy)?
        .latest(&RatesOptions::new())
        .err()
        .ok_or("no error")?;
    // Waits are 30..60 ms, so at most 3 requests fit before the next wait would pass 100 ms.
    let sent = mock.total_requests();
    assert!((2..=4).contains(&sent), "{sent} requests");
    assert!(
        matches!(error, Error::RetriesExhausted { attempts, .. } if u64::from(attempts) == sent),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn retry_after_is_honoured() -> TestResult {
    let mock = MockFixer::start();
    mock.fail_next(1, Fault::too_many_requests(1));
    let started = Instant::now();
    client_with(&mock, quick_policy(3))?.latest(&RatesOptions::new())?;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited only {:?}",
        started.elapsed()
    );
    assert_eq!(mock.total_requests(), 2);
    Ok(())
}

#[test]
fn a_retry_after_beyond_the_time_budget_gives_up_at_once() -> TestResult {
    let mock = MockFixer::start();
    mock.fail_next(1, Fault::too_many_requests(3600));
    let started = Instant::now();
    let error = client_with(&mock, quick_policy(5))?
        .latest(&RatesOptions::new())
        .err()
        .ok_or("no error")?;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "slept on a one-hour Retry-After"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert!(error.is_retryable(), "worth retrying later");
    assert_eq!(mock.total_requests(), 1);
    Ok(())
}

#[test]
fn gateway_quota_429_is_not_retried_but_a_429_with_retry_after_is() -> TestResult {
    let mock = MockFixer::builder()
        .host(MockHost::ApiLayer)
        .monthly_quota(Some(1))
        .start();
    let client = client_with(&mock, quick_policy(5))?;
    client.latest(&RatesOptions::new())?;
    let error = client
        .latest(&RatesOptions::new())
        .err()
        .ok_or("quota not enforced")?;
    assert!(
        matches!(error, Error::Gateway { status: 429, .. }),
        "{error:?}"
    );
    assert!(error.is_quota_exceeded() && !error.is_retryable());
    assert_eq!(mock.total_requests(), 2);

    mock.set_monthly_quota(None);
    mock.reset_counts();
    mock.fail_next(
        1,
        Fault::Gateway {
            status: 429,
            message: "Too many requests".into(),
            retry_after: Some(0),
        },
    );
    client.latest(&RatesOptions::new())?;
    assert_eq!(mock.total_requests(), 2);
    Ok(())
}

#[test]
fn timeouts_are_retried_and_classified() -> TestResult {
    let mock = MockFixer::start();
    let client = mock
        .client_builder()
        .timeout(Duration::from_millis(150))
        .retry_policy(quick_policy(2))
        .build()?;
    mock.fail_next(1, Fault::Delay(Duration::from_millis(600)));
    client.historical(day("2024-03-15")?, &RatesOptions::new())?;
    assert_eq!(mock.total_requests(), 2);

    mock.fail_next(2, Fault::Delay(Duration::from_millis(600)));
    let error = client.symbols().err().ok_or("no timeout")?;
    match &error {
        Error::RetriesExhausted {
            last, attempts: 2, ..
        } => {
            assert!(
                matches!(
                    **last,
                    Error::Transport {
                        kind: TransportKind::Timeout,
                        ..
                    }
                ),
                "{last:?}"
            );
        }
        other => return Err(format!("expected exhausted timeouts, got {other:?}").into()),
    }
    Ok(())
}

#[test]
fn connection_refused_is_a_retried_transport_error() -> TestResult {
    let mock = MockFixer::start();
    let client = client_with(&mock, quick_policy(3))?;
    drop(mock);
    let error = client.symbols().err().ok_or("dropped mock answered")?;
    match &error {
        Error::RetriesExhausted {
            last, attempts: 3, ..
        } => {
            assert!(
                matches!(
                    **last,
                    Error::Transport {
                        kind: TransportKind::Connect,
                        ..
                    }
                ),
                "{last:?}"
            );
        }
        other => return Err(format!("expected exhausted connects, got {other:?}").into()),
    }
    Ok(())
}

#[test]
fn faults_can_target_one_path() -> TestResult {
    let mock = MockFixer::start();
    let client = client_with(&mock, quick_policy(5))?;
    mock.fail_next_on("2024-03-15", 2, Fault::status(500));
    client.historical(day("2024-03-14")?, &RatesOptions::new())?;
    client.historical(day("2024-03-15")?, &RatesOptions::new())?;
    assert_eq!(mock.request_count("2024-03-14"), 1);
    assert_eq!(mock.request_count("2024-03-15"), 3);
    Ok(())
}
