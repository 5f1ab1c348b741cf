//! Seed 002: `/users` and `/user`, answered as its FastAPI service answered.

use reqwest::Method;
use serde_json::json;

use crate::server::{Backend, TestServer, expect_detail, expect_field_errors, json_with};

pub async fn add_and_list_people(backend: Backend) {
    let srv = TestServer::start(backend).await;
    assert_eq!(json_with(srv.get("/users").await, 200).await, json!([]));
    let mario =
        json_with(srv.post_json("/user", &json!({"name": "Mario Rossi", "email": "m.rossi@satispay.it"})).await, 200)
            .await;
    assert_eq!(mario, json!({"id": mario["id"], "name": "Mario Rossi", "email": "m.rossi@satispay.it"}));
    assert!(mario["id"].is_i64());
    let form = srv.post_form("/user", &[("name", "Anna Bianchi"), ("email", "anna@example.com")]).await;
    assert_eq!(form.status(), 200);
    let people = json_with(srv.get("/users").await, 200).await;
    let names: Vec<_> = people.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["Mario Rossi", "Anna Bianchi"]);
}

pub async fn users_with_a_trailing_slash_redirect(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (path, location) in [("/users/", "/users"), ("/users/?page=2", "/users?page=2")] {
        let response = no_redirects.get(format!("{}{path}", srv.base)).send().await.unwrap();
        assert_eq!(response.status(), 307, "{path}");
        assert_eq!(response.headers()["location"], location, "{path}");
    }
    assert_eq!(json_with(srv.get("/users/").await, 200).await, json!([]), "the redirect leads to the list");
}

pub async fn emails_are_unique_once_normalised(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let first = srv.post_json("/user", &json!({"name": "Mario Rossi", "email": "m.rossi@satispay.it"})).await;
    assert_eq!(first.status(), 200);
    for email in ["m.rossi@satispay.it", " m.rossi@SATISPAY.it  "] {
        let response = srv.post_json("/user", &json!({"name": "Other Name", "email": email})).await;
        assert_eq!(expect_detail(response, 400).await, "Email already exists", "{email:?}");
    }
    // pydantic lower-cases the domain only: another local part is another address.
    let other =
        json_with(srv.post_json("/user", &json!({"name": "Big Mario", "email": " M.Rossi@Satispay.IT "})).await, 200)
            .await;
    assert_eq!(other["email"], "M.Rossi@satispay.it");
    assert_eq!(json_with(srv.get("/users").await, 200).await.as_array().unwrap().len(), 2);
}

pub async fn invalid_people_get_fastapis_field_errors_with_400(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let missing_email = json!({"name": "Mario Rossi"});
    let errors =
        expect_field_errors(srv.post_json("/user", &missing_email).await, 400, &[("missing", "body.email")]).await;
    assert_eq!(
        errors[0],
        json!({"type": "missing", "loc": ["body", "email"], "msg": "Field required", "input": missing_email})
    );
    let short = expect_field_errors(
        srv.post_json("/user", &json!({"name": "Mo", "email": "m@satispay.it"})).await,
        400,
        &[("string_too_short", "body.name")],
    )
    .await;
    assert_eq!(
        short[0],
        json!({"type": "string_too_short", "loc": ["body", "name"], "msg": "String should have at least 3 characters",
               "input": "Mo", "ctx": {"min_length": 3}})
    );
    let long_name = "a".repeat(51);
    for (body, expected) in [
        (json!({"email": "m.rossi@satispay.it"}), [("missing", "body.name")].as_slice()),
        (json!({}), &[("missing", "body.name"), ("missing", "body.email")]),
        (json!({"name": long_name, "email": "m@satispay.it"}), &[("string_too_long", "body.name")]),
        (json!({"name": "Mario R0ssi", "email": "m@satispay.it"}), &[("string_pattern_mismatch", "body.name")]),
        (json!({"name": "José Núñez", "email": "m@satispay.it"}), &[("string_pattern_mismatch", "body.name")]),
        (json!({"name": "Mario Rossi", "email": "not-an-email"}), &[("value_error", "body.email")]),
        (json!({"name": "Mario Rossi", "email": "m@"}), &[("value_error", "body.email")]),
        (json!({"name": 42, "email": "m@satispay.it"}), &[("string_type", "body.name")]),
        (json!({"name": "M", "email": "nope"}), &[("string_too_short", "body.name"), ("value_error", "body.email")]),
        (json!(["Mario Rossi", "m.rossi@satispay.it"]), &[("model_attributes_type", "body")]),
        (json!(null), &[("missing", "body")]),
    ] {
        expect_field_errors(srv.post_json("/user", &body).await, 400, expected).await;
    }
    let malformed = srv.request(Method::POST, "/user").header("content-type", "application/json").body("{\"name\": }");
    let errors = expect_field_errors(malformed.send().await.unwrap(), 400, &[("json_invalid", "body.9")]).await;
    assert_eq!(errors[0]["msg"], "JSON decode error");
    assert_eq!(json_with(srv.get("/users").await, 200).await, json!([]));
}
