//! `GET` of a collection: `page` (from 1), `page_size` (1 to 100, default 10), `fields` (a
//! comma list: only those keys of each item) and any other parameter an equality filter on
//! the attribute it names; the body is `{"<collection>": [...], "total_pages": n}`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::CalcError;

/// Items per page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 10;
/// Largest `page_size` accepted.
pub const MAX_PAGE_SIZE: usize = 100;

/// Largest `page` accepted (the documented `int64` range).
pub const MAX_PAGE: usize = i64::MAX as usize;

/// An attribute a listing filters and selects by.
pub struct Attribute {
    /// Its key in each item.
    pub name: &'static str,
    /// Whether its values are numbers (a filter on it must be one too).
    pub numeric: bool,
}

impl Attribute {
    /// A text attribute.
    pub const fn text(name: &'static str) -> Self {
        Attribute { name, numeric: false }
    }

    /// A number attribute.
    pub const fn number(name: &'static str) -> Self {
        Attribute { name, numeric: true }
    }
}

/// A parsed listing request.
#[derive(Debug)]
pub struct Listing {
    page: usize,
    page_size: usize,
    fields: Option<Vec<String>>,
    filters: Vec<(String, String)>,
}

impl Listing {
    /// Reads the query string of a listing over items with these `attributes`.
    pub fn parse(query: Option<&str>, attributes: &[Attribute]) -> Result<Self, CalcError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
            .map_err(|_| CalcError::bad_request("The query string could not be read."))?;
        let mut listing = Listing { page: 1, page_size: DEFAULT_PAGE_SIZE, fields: None, filters: Vec::new() };
        for (key, value) in pairs {
            match key.as_str() {
                "page" => listing.page = whole(&key, &value, 1..=MAX_PAGE)?,
                "page_size" => listing.page_size = whole(&key, &value, 1..=MAX_PAGE_SIZE)?,
                "fields" => {
                    let fields: Vec<String> = value.split(',').map(|f| f.trim().to_owned()).collect();
                    if let Some(unknown) = fields.iter().find(|f| !attributes.iter().any(|a| a.name == f.as_str())) {
                        return Err(CalcError::bad_request(format!("Invalid field: '{unknown}'.")));
                    }
                    listing.fields = Some(fields);
                }
                _ => match attributes.iter().find(|a| a.name == key) {
                    Some(a) if a.numeric && !value.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                        return Err(CalcError::bad_request(format!("Invalid {key}: '{value}' is not a number.")));
                    }
                    Some(_) => listing.filters.push((key, value)),
                    None => return Err(CalcError::bad_request(format!("Invalid filter: '{key}'."))),
                },
            }
        }
        Ok(listing)
    }

    /// The page of `items` this listing asks for, under `collection`.
    pub fn page<T: Serialize>(&self, collection: &str, items: &[T]) -> Result<Value, CalcError> {
        let mut matching = Vec::new();
        for item in items {
            let Value::Object(object) = serde_json::to_value(item).map_err(|e| CalcError::Internal(e.into()))? else {
                continue;
            };
            if self.filters.iter().all(|(key, wanted)| object.get(key).is_some_and(|v| equals(v, wanted))) {
                matching.push(object);
            }
        }
        let total_pages = matching.len().div_ceil(self.page_size);
        let start = (self.page - 1).saturating_mul(self.page_size);
        let page: Vec<Value> = matching
            .into_iter()
            .skip(start)
            .take(self.page_size)
            .map(|object| Value::Object(self.select(object)))
            .collect();
        let mut body = Map::new();
        body.insert(collection.to_owned(), Value::Array(page));
        body.insert("total_pages".into(), total_pages.into());
        Ok(Value::Object(body))
    }

    fn select(&self, object: Map<String, Value>) -> Map<String, Value> {
        match &self.fields {
            Some(fields) => object.into_iter().filter(|(key, _)| fields.contains(key)).collect(),
            None => object,
        }
    }
}

/// A whole number in `range`, or a 400 naming the parameter.
fn whole(key: &str, value: &str, range: std::ops::RangeInclusive<usize>) -> Result<usize, CalcError> {
    match value.trim().parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        Ok(_) if key == "page_size" => {
            Err(CalcError::bad_request(format!("Invalid page_size: it must be between 1 and {MAX_PAGE_SIZE}.")))
        }
        _ => Err(CalcError::bad_request(format!("Invalid {key}: '{value}' is not a positive integer."))),
    }
}

/// Whether an attribute's value equals a filter's text: strings as they are, numbers by value.
fn equals(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(text) => text == wanted,
        Value::Number(n) => wanted.trim().parse::<f64>().is_ok_and(|w| n.as_f64() == Some(w)),
        Value::Bool(b) => wanted.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ATTRIBUTES: &[Attribute] = &[Attribute::text("id"), Attribute::text("type"), Attribute::number("cost")];

    fn operations() -> Vec<Value> {
        (0..25).map(|i| json!({"id": format!("op-{i:02}"), "type": if i % 2 == 0 { "even" } else { "odd" }, "cost": f64::from(i % 5)})).collect()
    }

    fn refusal(result: Result<Listing, CalcError>) -> String {
        match result {
            Err(CalcError::Refused(_, message)) => message.into_owned(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn pages_count_from_one_and_total_pages_rounds_up() {
        let listing = Listing::parse(Some("page=3"), ATTRIBUTES).unwrap();
        let body = listing.page("operations", &operations()).unwrap();
        assert_eq!(body["total_pages"], 3);
        assert_eq!(body["operations"].as_array().unwrap().len(), 5);
        assert_eq!(body["operations"][0]["id"], "op-20");
        let past = Listing::parse(Some("page=9&page_size=100"), ATTRIBUTES)
            .unwrap()
            .page("operations", &operations())
            .unwrap();
        assert_eq!((past["operations"].as_array().unwrap().len(), past["total_pages"].as_u64()), (0, Some(1)));
    }

    #[test]
    fn filters_and_fields_narrow_the_items() {
        let listing = Listing::parse(Some("type=odd&cost=3&fields=id,cost"), ATTRIBUTES).unwrap();
        let body = listing.page("operations", &operations()).unwrap();
        assert_eq!(
            body["operations"],
            json!([{"id": "op-03", "cost": 3.0}, {"id": "op-13", "cost": 3.0}, {"id": "op-23", "cost": 3.0}])
        );
        assert_eq!(body["total_pages"], 1);
    }

    #[test]
    fn bad_parameters_are_named() {
        assert!(refusal(Listing::parse(Some("colour=red"), ATTRIBUTES)).contains("colour"));
        assert!(refusal(Listing::parse(Some("page=two"), ATTRIBUTES)).contains("page"));
        assert!(refusal(Listing::parse(Some("page=0"), ATTRIBUTES)).contains("page"));
        assert!(refusal(Listing::parse(Some("page_size=0"), ATTRIBUTES)).contains("page_size"));
        assert!(refusal(Listing::parse(Some("page_size=101"), ATTRIBUTES)).contains("page_size"));
        assert!(refusal(Listing::parse(Some("fields=id,secret"), ATTRIBUTES)).contains("secret"));
        assert!(refusal(Listing::parse(Some("cost=cheap"), ATTRIBUTES)).contains("cost"));
        assert!(refusal(Listing::parse(Some("page=9223372036854775808"), ATTRIBUTES)).contains("page"));
    }
}
