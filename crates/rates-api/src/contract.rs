//! Checking answers against the OpenAPI document (feature `contract`, for test suites): the
//! route must be documented for the method, the status documented for the route, the content
//! type documented for the status, and a JSON body valid against its schema.

use serde_json::{json, Value};

use crate::openapi;

/// The OpenAPI document with its schemas ready to check answers.
#[derive(Debug)]
pub struct Contract {
    document: Value,
}

impl Default for Contract {
    fn default() -> Self {
        Contract::new()
    }
}

impl Contract {
    /// The service's own document ([`openapi::document`]).
    pub fn new() -> Contract {
        Contract {
            document: openapi::document(),
        }
    }

    /// Checks one answer: `GET`/`HEAD` `target` (path and optional query string) answered with
    /// `status`, `content_type` and `body`. The error says what does not match.
    pub fn check(
        &self,
        method: &str,
        target: &str,
        status: u16,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<(), String> {
        let path = target.split(['?', '#']).next().unwrap_or(target);
        let method_key = method.to_ascii_lowercase();
        let method_key = if method_key == "head" {
            "get".to_owned()
        } else {
            method_key
        };
        let operation = self.template_for(path).and_then(|template| {
            Some((
                self.document
                    .get("paths")?
                    .get(&template)?
                    .get(&method_key)?,
                template,
            ))
        });
        let Some((operation, template)) = operation else {
            // Outside the documented routes and methods the only answers are errors (unknown
            // route, method not allowed, refusals before routing) and CORS preflights.
            return self.check_undocumented(method, target, status, content_type, body);
        };
        let responses = operation
            .get("responses")
            .ok_or_else(|| format!("{method} {template} documents no responses"))?;
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get(format!("{}XX", status / 100)))
            .or_else(|| responses.get("default"))
            .ok_or_else(|| format!("status {status} is not documented for {method} {template}"))?;
        let response = self.resolve(response);
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return if body.is_empty() || method == "HEAD" {
                Ok(())
            } else {
                Err(format!(
                    "{status} of {method} {template} documents no body, got {} bytes",
                    body.len()
                ))
            };
        };
        if method == "HEAD" {
            return Ok(());
        }
        let media = content_type
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .ok_or_else(|| format!("{status} of {method} {template}: no Content-Type"))?;
        let media_type = content.get(media).ok_or_else(|| {
            format!(
                "{status} of {method} {template}: Content-Type {media} not documented (documented: {:?})",
                content.keys().collect::<Vec<_>>()
            )
        })?;
        if media != "application/json" {
            return Ok(());
        }
        let schema = media_type.get("schema").cloned().unwrap_or(json!({}));
        self.validate(&schema, body, &format!("{status} of {method} {target}"))
    }

    fn check_undocumented(
        &self,
        method: &str,
        target: &str,
        status: u16,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<(), String> {
        if method == "OPTIONS" && matches!(status, 200 | 204) {
            return Ok(());
        }
        let path = target.split(['?', '#']).next().unwrap_or(target);
        if status == 200 && (path == "/api" || path.starts_with("/api/")) {
            // Fixer answers an unknown endpoint with its own error (404) in HTTP 200.
            return self.validate(
                &json!({"$ref": "#/components/schemas/FixerError"}),
                body,
                &format!("{status} of {method} {target}"),
            );
        }
        if !matches!(status, 400 | 401 | 404 | 405 | 414 | 429 | 431) {
            return Err(format!(
                "{method} {target} is not documented, and its answer {status} is not one of the errors every request may get"
            ));
        }
        if method == "HEAD" {
            return Ok(());
        }
        if content_type.and_then(|value| value.split(';').next()) != Some("application/json") {
            return Err(format!(
                "{status} of {method} {target}: an error must be JSON"
            ));
        }
        // The native error shape, or Fixer's under `/api`.
        self.validate(
            &json!({"oneOf": [
                {"$ref": "#/components/schemas/Error"},
                {"$ref": "#/components/schemas/FixerError"}
            ]}),
            body,
            &format!("{status} of {method} {target}"),
        )
    }

    fn validate(&self, schema: &Value, body: &str, what: &str) -> Result<(), String> {
        let instance: Value = serde_json::from_str(body)
            .map_err(|error| format!("{what}: body is not JSON: {error}"))?;
        let mut schema = schema.clone();
        if let Value::Object(map) = &mut schema {
            let components = self.document.get("components").cloned();
            map.insert("components".into(), components.unwrap_or_default());
        }
        let validator = jsonschema::draft202012::new(&schema)
            .map_err(|error| format!("the schema for {what} is invalid: {error}"))?;
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .take(5)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{what} does not match the OpenAPI schema: {}; body: {}",
                errors.join("; "),
                body.chars().take(500).collect::<String>()
            ))
        }
    }

    /// The document's path template that matches `path` (trailing slash optional), preferring
    /// the template with the most literal characters (`/rates/{start}..{end}` over
    /// `/rates/{date}`).
    fn template_for(&self, path: &str) -> Option<String> {
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        let paths = self.document.get("paths")?.as_object()?;
        paths
            .keys()
            .filter_map(|template| matches(template, path).map(|literal| (literal, template)))
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, template)| template.clone())
    }

    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => self
                .document
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or(value),
            None => value,
        }
    }
}

/// Whether `path` matches `template` segment by segment; the count of literal characters
/// matched, for ranking.
fn matches(template: &str, path: &str) -> Option<usize> {
    let template_segments: Vec<&str> = template.split('/').collect();
    let path_segments: Vec<&str> = path.split('/').collect();
    if template_segments.len() != path_segments.len() {
        return None;
    }
    let mut literal = 0;
    for (pattern, segment) in template_segments.iter().zip(&path_segments) {
        literal += match_segment(pattern, segment)?;
    }
    Some(literal)
}

/// Matches one segment: literal text, and `{name}` standing for one or more characters; the
/// count of literal characters, for ranking.
fn match_segment(pattern: &str, segment: &str) -> Option<usize> {
    let mut literals = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        literals.push(rest.get(..open)?);
        let close = open + rest.get(open..)?.find('}')?;
        rest = rest.get(close + 1..)?;
    }
    literals.push(rest);
    let literal_len = literals.iter().map(|literal| literal.len()).sum();
    let (first, others) = literals.split_first()?;
    let Some((last, middle)) = others.split_last() else {
        return (pattern == segment).then_some(literal_len);
    };
    let mut rest = segment.strip_prefix(first)?.strip_suffix(last)?;
    // Each literal between parameters comes after at least one character of a parameter.
    for literal in middle {
        let at = 1 + rest.get(1..)?.find(literal)?;
        rest = rest.get(at + literal.len()..)?;
    }
    (!rest.is_empty()).then_some(literal_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_by_segment_and_prefer_literals() {
        let contract = Contract::new();
        assert_eq!(
            contract.template_for("/rates/2024-01-02/").as_deref(),
            Some("/rates/{date}")
        );
        assert_eq!(
            contract
                .template_for("/rates/2024-01-02..2024-02-01")
                .as_deref(),
            Some("/rates/{start}..{end}")
        );
        assert_eq!(
            contract.template_for("/currencies/").as_deref(),
            Some("/currencies")
        );
        assert_eq!(contract.template_for("/nope/nope"), None);
    }

    #[test]
    fn undocumented_routes_may_only_answer_json_errors() {
        let contract = Contract::new();
        let not_found = r#"{"error":{"code":"route_not_found","message":"no"}}"#;
        contract
            .check("GET", "/nope", 404, Some("application/json"), not_found)
            .unwrap();
        contract
            .check(
                "POST",
                "/rates/2024-01-02/",
                405,
                Some("application/json"),
                not_found,
            )
            .unwrap();
        assert!(contract
            .check("GET", "/nope", 200, Some("application/json"), "{}")
            .is_err());
        assert!(contract
            .check("GET", "/nope", 404, Some("text/plain"), "no")
            .is_err());
    }

    #[test]
    fn answers_are_checked_against_the_schemas() {
        let contract = Contract::new();
        let good = r#"{"base":"EUR","date":"2024-01-02","timestamp":1,"rates":{"USD":1.0956}}"#;
        contract
            .check(
                "GET",
                "/rates/2024-01-02/?symbols=USD",
                200,
                Some("application/json"),
                good,
            )
            .unwrap();
        let extra =
            r#"{"base":"EUR","date":"2024-01-02","timestamp":1,"rates":{"USD":1.0956},"x":1}"#;
        assert!(contract
            .check(
                "GET",
                "/rates/2024-01-02/",
                200,
                Some("application/json"),
                extra
            )
            .is_err());
        let negative = r#"{"base":"EUR","date":"2024-01-02","timestamp":1,"rates":{"USD":-1}}"#;
        assert!(contract
            .check(
                "GET",
                "/rates/2024-01-02/",
                200,
                Some("application/json"),
                negative
            )
            .is_err());
        let error = r#"{"error":{"code":"invalid_date","message":"bad"}}"#;
        contract
            .check(
                "GET",
                "/rates/2024-13-02/",
                400,
                Some("application/json"),
                error,
            )
            .unwrap();
        let wrong_code = r#"{"error":{"code":"date_not_found","message":"bad"}}"#;
        assert!(contract
            .check(
                "GET",
                "/rates/2024-13-02/",
                400,
                Some("application/json"),
                wrong_code
            )
            .is_err());
        assert!(contract
            .check(
                "GET",
                "/rates/2024-01-02/",
                418,
                Some("application/json"),
                error
            )
            .is_err());
        contract
            .check("GET", "/rates/2024-01-02/", 304, None, "")
            .unwrap();
    }
}
