//! `GET /openapi.json`: the OpenAPI 3.1 description of every route, parameter, body and error.
//!
//! Written here by hand, next to the routes, and kept true by tests rather than generated: the
//! rates-api and rates-server test suites validate every answer they receive against it
//! (`contract::Contract`, behind the `contract` feature), and CI runs a property-based fuzzer
//! (schemathesis) against a live server with it. A route, parameter, field or status missing
//! here fails those tests.

use serde_json::{json, Map, Value};

/// The document, built once per call (the server builds it once at start-up).
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Fixer rates",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Daily currency exchange rates, served from memory: a native JSON/CSV/NDJSON API and a Fixer-compatible API under /api. Dates are YYYY-MM-DD; currencies are three letters. Every route takes GET (and HEAD); the trailing slash is optional.",
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"}
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "parameters": parameters(),
            "responses": responses(),
            "headers": headers(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key from `rates-cli keys create`, needed when server.auth = \"api-key\"."},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            }
        },
        "security": [{}, {"bearer": []}, {"apiKeyHeader": []}]
    })
}

fn paths() -> Value {
    let mut paths = Map::new();
    paths.insert(
        "/rates/{date}".into(),
        get(
            "One day's rates",
            "Rates of `{date}` (YYYY-MM-DD, or `latest`), in `base` (default: the stored base), limited to `symbols`. A date without rates is a 404 naming the nearest earlier date held, unless `fallback=previous`.",
            &[
                path_param("date", "A date (YYYY-MM-DD) or `latest`.", json!({"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2}|latest)$"})),
                reference("base"),
                reference("symbols"),
                reference("fallback"),
                reference("format"),
                reference("as_of"),
            ],
            ok_rates("DayRates"),
            &["400", "401", "404", "414", "422", "429", "503"],
        ),
    );
    paths.insert(
        "/rates/{start}..{end}".into(),
        get(
            "Rates over a range of days",
            "Every day held from `start` to `end` inclusive (at most 366 days); days without rates are absent.",
            &[
                path_param("start", "First day (YYYY-MM-DD).", json!({"$ref": "#/components/schemas/Date"})),
                path_param("end", "Last day (YYYY-MM-DD).", json!({"$ref": "#/components/schemas/Date"})),
                reference("base"),
                reference("symbols"),
                reference("format"),
                reference("group"),
                reference("as_of"),
            ],
            ok_rates("RangeRates"),
            &["400", "401", "404", "414", "422", "429", "503"],
        ),
    );
    paths.insert(
        "/rates/{date}/revisions".into(),
        get(
            "Every value a day has held",
            "Per currency, every value `{date}` (YYYY-MM-DD or `latest`) has held, oldest first, with `valid_from` and `valid_to` (null for the value held now).",
            &[
                path_param("date", "A date (YYYY-MM-DD) or `latest`.", json!({"type": "string"})),
                reference("symbols"),
            ],
            ok_json("Revisions", true),
            &["400", "401", "404", "414", "429", "503"],
        ),
    );
    paths.insert(
        "/fluctuation".into(),
        get(
            "How rates moved between two days",
            "Per currency, the rates on the nearest days held at or before `start_date` and `end_date`, their change and change in percent.",
            &[
                query_param("start_date", "First day (YYYY-MM-DD).", true, json!({"type": "string"})),
                query_param("end_date", "Last day (YYYY-MM-DD).", true, json!({"type": "string"})),
                reference("base"),
                reference("symbols"),
                reference("as_of"),
            ],
            ok_json("Fluctuation", true),
            &["400", "401", "404", "414", "422", "429", "503"],
        ),
    );
    paths.insert(
        "/currencies".into(),
        get(
            "Currencies held",
            "Every currency code held in the rates, with its name where known.",
            &[],
            ok_json("Currencies", true),
            &["400", "401", "414", "429", "503"],
        ),
    );
    paths.insert(
        "/convert".into(),
        get(
            "Convert an amount",
            "`amount` of `from` in `to`, at the rate of `date` (default: the latest date held).",
            &[
                query_param(
                    "from",
                    "The currency converted from.",
                    true,
                    json!({"$ref": "#/components/schemas/CurrencyInput"}),
                ),
                query_param(
                    "to",
                    "The currency converted to.",
                    true,
                    json!({"$ref": "#/components/schemas/CurrencyInput"}),
                ),
                query_param(
                    "amount",
                    "A finite decimal number, e.g. 10, 25.5, -3, 1e3.",
                    true,
                    json!({"type": "string"}),
                ),
                query_param(
                    "date",
                    "YYYY-MM-DD or `latest` (default).",
                    false,
                    json!({"type": "string"}),
                ),
                reference("fallback"),
            ],
            ok_json("Conversion", true),
            &["400", "401", "404", "414", "422", "429", "503"],
        ),
    );
    paths.insert(
        "/health".into(),
        get(
            "Health",
            "200 while the server can answer reads (from its in-memory snapshot, even with the database down), with the latest date held and the database's state; never needs a key; never cached.",
            &[],
            json!({"200": {
                "description": "The server answers reads.",
                "headers": common_headers(),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}
            }}),
            &["400", "414", "503"],
        ),
    );
    paths.insert(
        "/metrics".into(),
        get(
            "Prometheus metrics",
            "The server's metrics in Prometheus' text exposition format 0.0.4. Never needs a key; 404 when server.metrics is false.",
            &[],
            json!({"200": {
                "description": "The metrics.",
                "headers": common_headers(),
                "content": {"text/plain": {"schema": {"type": "string"}}}
            }}),
            &["400", "404", "414"],
        ),
    );
    paths.insert(
        "/openapi.json".into(),
        get(
            "This document",
            "The OpenAPI 3.1 description of the service.",
            &[],
            json!({"200": {
                "description": "The document.",
                "headers": common_headers(),
                "content": {"application/json": {"schema": {"type": "object"}}}
            }}),
            &["400", "401", "414", "429"],
        ),
    );
    fixer_api_paths(&mut paths);
    paths.insert(
        "/".into(),
        get(
            "Overview page",
            "An HTML page for people: the latest rates (in `base`), a converter and a chart, all from this API. Works without script (the table); needs no key itself.",
            &[reference("base")],
            static_file("text/html"),
            &["400", "404", "414", "422", "429", "503"],
        ),
    );
    for (path, media) in [
        ("/assets/page.js", "text/javascript"),
        ("/assets/page.css", "text/css"),
        ("/assets/icon.svg", "image/svg+xml"),
    ] {
        paths.insert(
            path.into(),
            get(
                "An asset of the overview page",
                "Embedded in the server; cached with an ETag.",
                &[],
                static_file(media),
                &["400", "414", "429"],
            ),
        );
    }
    Value::Object(paths)
}

/// A 200 answer in JSON, CSV or NDJSON (`format` or `Accept`), and the 304 of conditional
/// requests.
fn ok_rates(schema: &str) -> Value {
    json!({
        "200": {
            "description": "The answer: JSON by default; CSV (`date,base,currency,rate`, one row per value) or NDJSON (one `{date, base, rates}` object per day) when asked by `format` or `Accept`.",
            "headers": cached_headers(),
            "content": {
                "application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}},
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}}
            }
        },
        "304": {"$ref": "#/components/responses/NotModified"}
    })
}

/// The Fixer-compatible API: Fixer's own answers, errors included, in HTTP 200.
fn fixer_api_paths(paths: &mut Map<String, Value>) {
    let access_key = || {
        query_param("access_key", "An API key, when server.auth = \"api-key\" (Fixer's parameter name); otherwise ignored.", false, json!({"type": "string"}))
    };
    let base = || {
        query_param(
            "base",
            "Express the rates in this currency (default: the stored base).",
            false,
            json!({"type": "string"}),
        )
    };
    let symbols = || {
        query_param(
            "symbols",
            "Comma-separated currencies to keep (default: all).",
            false,
            json!({"type": "string"}),
        )
    };
    let start = || {
        query_param(
            "start_date",
            "First day (YYYY-MM-DD).",
            true,
            json!({"type": "string"}),
        )
    };
    let end = || {
        query_param(
            "end_date",
            "Last day (YYYY-MM-DD).",
            true,
            json!({"type": "string"}),
        )
    };
    let endpoints = [
        (
            "/api/latest",
            "Fixer `latest`",
            vec![access_key(), base(), symbols()],
            "FixerRates",
        ),
        (
            "/api/{date}",
            "Fixer historical rates (a weekend or holiday answers the last business day's rates)",
            vec![
                path_param("date", "A date (YYYY-MM-DD).", json!({"type": "string"})),
                access_key(),
                base(),
                symbols(),
            ],
            "FixerRates",
        ),
        (
            "/api/timeseries",
            "Fixer `timeseries` (at most 365 days)",
            vec![start(), end(), access_key(), base(), symbols()],
            "FixerTimeseries",
        ),
        (
            "/api/fluctuation",
            "Fixer `fluctuation` (at most 365 days)",
            vec![start(), end(), access_key(), base(), symbols()],
            "FixerFluctuation",
        ),
        (
            "/api/convert",
            "Fixer `convert`",
            vec![
                query_param(
                    "from",
                    "The currency converted from.",
                    true,
                    json!({"type": "string"}),
                ),
                query_param(
                    "to",
                    "The currency converted to.",
                    true,
                    json!({"type": "string"}),
                ),
                query_param("amount", "The amount.", true, json!({"type": "string"})),
                query_param(
                    "date",
                    "YYYY-MM-DD (default: latest).",
                    false,
                    json!({"type": "string"}),
                ),
                access_key(),
            ],
            "FixerConversion",
        ),
        (
            "/api/symbols",
            "Fixer `symbols`",
            vec![access_key()],
            "FixerSymbols",
        ),
    ];
    for (path, summary, parameters, schema) in endpoints {
        let ok = json!({"200": {
            "description": "Fixer's answer: `success: true` with the data, or `success: false` with Fixer's error code, type and info (Fixer answers its errors in HTTP 200).",
            "headers": common_headers(),
            "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": format!("#/components/schemas/{schema}")},
                {"$ref": "#/components/schemas/FixerError"}
            ]}}}
        }});
        paths.insert(
            path.into(),
            get(summary, "Answers exactly as Fixer does (see docs/api.md), so a Fixer client works by changing its base URL.", &parameters, ok, &["400", "414", "429"]),
        );
    }
}

/// A 200 answer of `media` (not JSON), and the 304 of conditional requests.
fn static_file(media: &str) -> Value {
    json!({
        "200": {
            "description": "The document.",
            "headers": cached_headers(),
            "content": {media: {"schema": {"type": "string"}}}
        },
        "304": {"$ref": "#/components/responses/NotModified"}
    })
}

/// A GET operation; every operation also documents the errors listed in `errors`.
fn get(
    summary: &str,
    description: &str,
    parameters: &[Value],
    ok: Value,
    errors: &[&str],
) -> Value {
    let mut responses = match ok {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let always = ["414", "431"];
    for status in errors.iter().chain(always.iter()) {
        responses.insert(
            (*status).to_owned(),
            json!({"$ref": format!("#/components/responses/Error{status}")}),
        );
    }
    json!({"get": {
        "summary": summary,
        "description": description,
        "parameters": parameters,
        "responses": responses
    }})
}

/// A 200 JSON answer with `schema`, and the 304 of conditional requests when `cached`.
fn ok_json(schema: &str, cached: bool) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "The answer.",
            "headers": cached_headers(),
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
        }),
    );
    if cached {
        responses.insert(
            "304".into(),
            json!({"$ref": "#/components/responses/NotModified"}),
        );
    }
    Value::Object(responses)
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

fn query_param(name: &str, description: &str, required: bool, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema})
}

fn reference(parameter: &str) -> Value {
    json!({"$ref": format!("#/components/parameters/{parameter}")})
}

fn parameters() -> Value {
    json!({
        "base": {
            "name": "base", "in": "query", "required": false,
            "description": "Express the rates in this currency (default: the stored base).",
            "schema": {"$ref": "#/components/schemas/CurrencyInput"}
        },
        "symbols": {
            "name": "symbols", "in": "query", "required": false,
            "description": "Comma-separated currencies to keep, e.g. USD,GBP (default: all).",
            "schema": {"type": "string"}
        },
        "fallback": {
            "name": "fallback", "in": "query", "required": false,
            "description": "`previous`: answer a date without rates with the nearest earlier date held.",
            "schema": {"type": "string", "enum": ["previous"]}
        },
        "format": {
            "name": "format", "in": "query", "required": false,
            "description": "`json` (default), `csv` or `ndjson`; wins over `Accept`.",
            "schema": {"type": "string", "enum": ["json", "csv", "ndjson"]}
        },
        "group": {
            "name": "group", "in": "query", "required": false,
            "description": "`week`, `month` or `year`: the mean of each period's daily values, keyed by the period's first day (ISO weeks start on Monday); no range cap.",
            "schema": {"type": "string", "enum": ["week", "month", "year"]}
        },
        "as_of": {
            "name": "as_of", "in": "query", "required": false,
            "description": "An RFC 3339 instant, not in the future: the values as they were held then.",
            "schema": {"type": "string"}
        }
    })
}

/// Headers every answer carries.
fn common_headers() -> Value {
    json!({
        "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"},
        "RateLimit-Limit": {"$ref": "#/components/headers/RateLimit-Limit"},
        "RateLimit-Remaining": {"$ref": "#/components/headers/RateLimit-Remaining"},
        "RateLimit-Reset": {"$ref": "#/components/headers/RateLimit-Reset"}
    })
}

/// Headers of cacheable answers.
fn cached_headers() -> Value {
    let mut headers = match common_headers() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    headers.insert(
        "ETag".into(),
        json!({"description": "A hash of the body.", "schema": {"type": "string"}}),
    );
    headers.insert("Last-Modified".into(), json!({"description": "When the newest value in the answer last changed.", "schema": {"type": "string"}}));
    headers.insert("Cache-Control".into(), json!({"description": "Long for past dates, short for latest and today.", "schema": {"type": "string"}}));
    Value::Object(headers)
}

fn headers() -> Value {
    json!({
        "X-Request-Id": {"description": "The request's id: the client's when sane, else generated.", "schema": {"type": "string"}},
        "RateLimit-Limit": {"description": "With server.rate_limit: the burst.", "schema": {"type": "integer"}},
        "RateLimit-Remaining": {"description": "With server.rate_limit: requests left now.", "schema": {"type": "integer"}},
        "RateLimit-Reset": {"description": "With server.rate_limit: seconds until the full burst is back.", "schema": {"type": "integer"}},
        "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
    })
}

/// The error codes of the native API, by status.
const ERROR_CODES: &[(&str, &[&str])] = &[
    (
        "400",
        &[
            "invalid_date",
            "invalid_range",
            "range_too_long",
            "invalid_currency",
            "invalid_amount",
            "invalid_query",
            "invalid_path",
            "invalid_body",
            "cors_rejected",
            "invalid_format",
            "invalid_group",
            "invalid_as_of",
        ],
    ),
    ("401", &["unauthorized"]),
    (
        "404",
        &[
            "date_not_found",
            "range_not_found",
            "no_rates_held",
            "currency_not_found",
            "route_not_found",
        ],
    ),
    ("405", &["method_not_allowed"]),
    ("414", &["uri_too_long"]),
    ("431", &["headers_too_large"]),
    ("422", &["unrepresentable_value"]),
    ("429", &["rate_limited"]),
    ("503", &["database_unavailable"]),
];

fn responses() -> Value {
    let mut responses = Map::new();
    for (status, codes) in ERROR_CODES {
        let mut headers = match common_headers() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if matches!(*status, "429" | "503") {
            headers.insert(
                "Retry-After".into(),
                json!({"$ref": "#/components/headers/Retry-After"}),
            );
        }
        responses.insert(
            format!("Error{status}"),
            json!({
                "description": format!("Error: {}.", codes.join(", ")),
                "headers": headers,
                "content": {"application/json": {"schema": {
                    "allOf": [{"$ref": "#/components/schemas/Error"}],
                    "properties": {"error": {"properties": {"code": {"enum": codes}}}}
                }}}
            }),
        );
    }
    responses.insert(
        "NotModified".into(),
        json!({"description": "The client's copy (If-None-Match / If-Modified-Since) is current.", "headers": cached_headers()}),
    );
    Value::Object(responses)
}

fn schemas() -> Value {
    json!({
        "Currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "A currency code, upper case."},
        "CurrencyInput": {"type": "string", "description": "A currency code: three letters, any case."},
        "Date": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "Rate": {"type": "number", "exclusiveMinimum": 0},
        "Rates": {
            "type": "object",
            "propertyNames": {"$ref": "#/components/schemas/Currency"},
            "additionalProperties": {"$ref": "#/components/schemas/Rate"}
        },
        "DayRates": {
            "type": "object",
            "required": ["base", "date", "timestamp", "rates"],
            "additionalProperties": false,
            "properties": {
                "base": {"$ref": "#/components/schemas/Currency"},
                "date": {"$ref": "#/components/schemas/Date"},
                "requested_date": {"$ref": "#/components/schemas/Date"},
                "as_of": {"type": "string", "format": "date-time"},
                "timestamp": {"type": "integer", "description": "When the newest of the day's values last changed (Unix seconds)."},
                "rates": {"$ref": "#/components/schemas/Rates"}
            }
        },
        "RangeRates": {
            "type": "object",
            "required": ["base", "start_date", "end_date", "rates"],
            "additionalProperties": false,
            "properties": {
                "base": {"$ref": "#/components/schemas/Currency"},
                "start_date": {"$ref": "#/components/schemas/Date"},
                "end_date": {"$ref": "#/components/schemas/Date"},
                "group": {"type": "string", "enum": ["week", "month", "year"]},
                "as_of": {"type": "string", "format": "date-time"},
                "rates": {
                    "type": "object",
                    "propertyNames": {"$ref": "#/components/schemas/Date"},
                    "additionalProperties": {"$ref": "#/components/schemas/Rates"}
                }
            }
        },
        "Revisions": {
            "type": "object",
            "required": ["base", "date", "revisions"],
            "additionalProperties": false,
            "properties": {
                "base": {"$ref": "#/components/schemas/Currency"},
                "date": {"$ref": "#/components/schemas/Date"},
                "revisions": {
                    "type": "object",
                    "propertyNames": {"$ref": "#/components/schemas/Currency"},
                    "additionalProperties": {"type": "array", "items": {
                        "type": "object",
                        "required": ["rate", "valid_from", "valid_to"],
                        "additionalProperties": false,
                        "properties": {
                            "rate": {"$ref": "#/components/schemas/Rate"},
                            "valid_from": {"type": "string", "format": "date-time"},
                            "valid_to": {"type": ["string", "null"], "format": "date-time"}
                        }
                    }}
                }
            }
        },
        "Fluctuation": {
            "type": "object",
            "required": ["base", "start_date", "end_date", "rates"],
            "properties": {
                "base": {"$ref": "#/components/schemas/Currency"},
                "start_date": {"$ref": "#/components/schemas/Date"},
                "end_date": {"$ref": "#/components/schemas/Date"},
                "requested_start_date": {"$ref": "#/components/schemas/Date"},
                "requested_end_date": {"$ref": "#/components/schemas/Date"},
                "rates": {
                    "type": "object",
                    "propertyNames": {"$ref": "#/components/schemas/Currency"},
                    "additionalProperties": {"$ref": "#/components/schemas/Change"}
                }
            }
        },
        "Change": {
            "type": "object",
            "required": ["start_rate", "end_rate", "change", "change_pct"],
            "additionalProperties": false,
            "properties": {
                "start_rate": {"$ref": "#/components/schemas/Rate"},
                "end_rate": {"$ref": "#/components/schemas/Rate"},
                "change": {"type": "number"},
                "change_pct": {"type": "number"}
            }
        },
        "FixerRates": {
            "type": "object",
            "required": ["success", "timestamp", "base", "date", "rates"],
            "additionalProperties": false,
            "properties": {
                "success": {"const": true},
                "historical": {"type": "boolean"},
                "timestamp": {"type": "integer"},
                "base": {"$ref": "#/components/schemas/Currency"},
                "date": {"$ref": "#/components/schemas/Date"},
                "rates": {"$ref": "#/components/schemas/Rates"}
            }
        },
        "FixerTimeseries": {
            "type": "object",
            "required": ["success", "timeseries", "start_date", "end_date", "base", "rates"],
            "additionalProperties": false,
            "properties": {
                "success": {"const": true},
                "timeseries": {"const": true},
                "start_date": {"$ref": "#/components/schemas/Date"},
                "end_date": {"$ref": "#/components/schemas/Date"},
                "base": {"$ref": "#/components/schemas/Currency"},
                "rates": {
                    "type": "object",
                    "propertyNames": {"$ref": "#/components/schemas/Date"},
                    "additionalProperties": {"$ref": "#/components/schemas/Rates"}
                }
            }
        },
        "FixerFluctuation": {
            "type": "object",
            "required": ["success", "fluctuation", "start_date", "end_date", "base", "rates"],
            "additionalProperties": false,
            "properties": {
                "success": {"const": true},
                "fluctuation": {"const": true},
                "start_date": {"$ref": "#/components/schemas/Date"},
                "end_date": {"$ref": "#/components/schemas/Date"},
                "base": {"$ref": "#/components/schemas/Currency"},
                "rates": {
                    "type": "object",
                    "propertyNames": {"$ref": "#/components/schemas/Currency"},
                    "additionalProperties": {"$ref": "#/components/schemas/Change"}
                }
            }
        },
        "FixerConversion": {
            "type": "object",
            "required": ["success", "query", "info", "date", "result"],
            "additionalProperties": false,
            "properties": {
                "success": {"const": true},
                "query": {
                    "type": "object",
                    "required": ["from", "to", "amount"],
                    "additionalProperties": false,
                    "properties": {
                        "from": {"$ref": "#/components/schemas/Currency"},
                        "to": {"$ref": "#/components/schemas/Currency"},
                        "amount": {"type": "number"}
                    }
                },
                "info": {
                    "type": "object",
                    "required": ["timestamp", "rate"],
                    "additionalProperties": false,
                    "properties": {"timestamp": {"type": "integer"}, "rate": {"$ref": "#/components/schemas/Rate"}}
                },
                "historical": {"type": "boolean"},
                "date": {"$ref": "#/components/schemas/Date"},
                "result": {"type": "number"}
            }
        },
        "FixerSymbols": {
            "type": "object",
            "required": ["success", "symbols"],
            "additionalProperties": false,
            "properties": {
                "success": {"const": true},
                "symbols": {
                    "type": "object",
                    "propertyNames": {"$ref": "#/components/schemas/Currency"},
                    "additionalProperties": {"type": "string"}
                }
            }
        },
        "FixerError": {
            "type": "object",
            "required": ["success", "error"],
            "additionalProperties": false,
            "properties": {
                "success": {"const": false},
                "error": {
                    "type": "object",
                    "required": ["code", "type"],
                    "additionalProperties": false,
                    "properties": {
                        "code": {"type": "integer"},
                        "type": {"type": "string"},
                        "info": {"type": "string"}
                    }
                }
            }
        },
        "Currencies": {
            "type": "object",
            "required": ["symbols"],
            "additionalProperties": false,
            "properties": {
                "symbols": {
                    "type": "object",
                    "propertyNames": {"$ref": "#/components/schemas/Currency"},
                    "additionalProperties": {"type": ["string", "null"]}
                }
            }
        },
        "Conversion": {
            "type": "object",
            "required": ["query", "date", "rate", "result"],
            "additionalProperties": false,
            "properties": {
                "query": {
                    "type": "object",
                    "required": ["from", "to", "amount"],
                    "additionalProperties": false,
                    "properties": {
                        "from": {"$ref": "#/components/schemas/Currency"},
                        "to": {"$ref": "#/components/schemas/Currency"},
                        "amount": {"type": "number"}
                    }
                },
                "date": {"$ref": "#/components/schemas/Date"},
                "requested_date": {"$ref": "#/components/schemas/Date"},
                "rate": {"$ref": "#/components/schemas/Rate"},
                "result": {"type": "number"}
            }
        },
        "Health": {
            "type": "object",
            "required": ["status", "latest_date", "database", "snapshot_age_ms", "snapshot_version"],
            "additionalProperties": false,
            "properties": {
                "status": {"type": "string", "enum": ["ok"], "description": "The server answers reads (from its in-memory snapshot)."},
                "latest_date": {"oneOf": [{"$ref": "#/components/schemas/Date"}, {"type": "null"}], "description": "The most recent date with rates; null when none are held."},
                "database": {"type": "string", "enum": ["ok", "unavailable"], "description": "Whether the database answered the last check."},
                "snapshot_age_ms": {"type": "integer", "minimum": 0, "description": "How long ago the snapshot was last confirmed to match the database."},
                "snapshot_version": {"type": "integer", "description": "The database's data version the snapshot reflects."}
            }
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": false,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "additionalProperties": false,
                    "properties": {
                        "code": {"type": "string", "pattern": "^[a-z_]+$"},
                        "message": {"type": "string"},
                        "nearest_date": {"$ref": "#/components/schemas/Date"}
                    }
                }
            }
        }
    })
}
