//! Seed 002: `/users` and `/user`.

use serde_json::json;

use crate::server::{Backend, TestServer, expect_error, json_with};

pub async fn add_and_list_people(backend: Backend) {
    let srv = TestServer::start(backend).await;
    assert_eq!(json_with(srv.get("/users").await, 200).await, json!([]));
    let mario =
        json_with(srv.post_json("/user", &json!({"name": "Mario Rossi", "email": "m.rossi@satispay.it"})).await, 201)
            .await;
    assert_eq!((mario["name"].clone(), mario["email"].clone()), (json!("Mario Rossi"), json!("m.rossi@satispay.it")));
    assert!(mario["id"].is_i64());
    let form = srv.post_form("/user", &[("name", "Anna Bianchi"), ("email", "anna@example.com")]).await;
    assert_eq!(form.status(), 201);
    let people = json_with(srv.get("/users").await, 200).await;
    let names: Vec<_> = people.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["Mario Rossi", "Anna Bianchi"]);
}

pub async fn emails_are_unique(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let first = srv.post_json("/user", &json!({"name": "Mario Rossi", "email": "m.rossi@satispay.it"})).await;
    assert_eq!(first.status(), 201);
    for email in ["m.rossi@satispay.it", "M.Rossi@Satispay.IT"] {
        let body =
            expect_error(srv.post_json("/user", &json!({"name": "Other Name", "email": email})).await, 400).await;
        assert!(body["error"].as_str().unwrap().contains("email"));
    }
    assert_eq!(json_with(srv.get("/users").await, 200).await.as_array().unwrap().len(), 1);
}

pub async fn invalid_people_are_refused(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let long_name = "a".repeat(101);
    for body in [
        json!({"name": "Mario Rossi"}),
        json!({"email": "m.rossi@satispay.it"}),
        json!({"name": "M", "email": "m@satispay.it"}),
        json!({"name": long_name, "email": "m@satispay.it"}),
        json!({"name": "Mario R0ssi", "email": "m@satispay.it"}),
        json!({"name": "Mario_Rossi", "email": "m@satispay.it"}),
        json!({"name": "Mario Rossi", "email": "not-an-email"}),
        json!({"name": "Mario Rossi", "email": "m@"}),
        json!({"name": 42, "email": "m@satispay.it"}),
    ] {
        expect_error(srv.post_json("/user", &body).await, 400).await;
    }
    assert_eq!(json_with(srv.get("/users").await, 200).await, json!([]));
}
