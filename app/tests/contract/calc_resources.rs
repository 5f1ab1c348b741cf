//! Seed 004: operations, process_operation (charged atomically), records, users, listings.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::calc_client::{ADMIN, Browser, CLIENT, refused};
use crate::server::{Backend, TestServer, json_with};

pub async fn operations_are_seeded_and_admins_manage_them(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let admin = Browser::login(&srv, ADMIN).await;
    let page = json_with(admin.get("/api/v1/operations").await, 200).await;
    let kinds: Vec<&str> = page["operations"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["addition", "division", "multiplication", "random_string", "square_root", "substraction"]);
    assert!(page["operations"].as_array().unwrap().iter().all(|o| o["cost"] == json!(5.0)));
    assert_eq!(page["total_pages"], 1);

    refused(
        admin.post("/api/v1/operations", json!({"type": "addition", "cost": 1})).await,
        400,
        "Operation already exists",
    )
    .await;
    let invalid = json_with(admin.post("/api/v1/operations", json!({"type": "modulo", "cost": -1})).await, 400).await;
    assert_eq!(
        invalid["cost"],
        json!(["Must be greater than or equal to 0 and less than or equal to 1000000000000000."])
    );
    assert!(invalid["type"][0].as_str().unwrap().starts_with("Must be one of: addition, substraction"));

    let id = admin.operation_id("square_root").await;
    let patched = json_with(admin.patch(&format!("/api/v1/operations/{id}"), json!({"cost": 2.5})).await, 200).await;
    assert_eq!(
        patched,
        json!({"message": "Operation updated successfully", "operation": {"id": id, "type": "square_root", "cost": 2.5}, "status": "success"})
    );
    refused(admin.patch("/api/v1/operations/no-such-id", json!({"cost": 1})).await, 404, "Operation not found.").await;
    assert_eq!(
        json_with(admin.delete(&format!("/api/v1/operations/{id}")).await, 200).await,
        json!({"message": "Operation deleted", "status": "success"})
    );
    refused(admin.get(&format!("/api/v1/operations/{id}")).await, 404, "Operation not found.").await;
    let created =
        json_with(admin.post("/api/v1/operations", json!({"type": "square_root", "cost": 1.5})).await, 201).await;
    assert_eq!(created["message"], "Operation created successfully");
    assert_eq!(
        (created["operation"]["type"].as_str(), created["operation"]["cost"].as_f64()),
        (Some("square_root"), Some(1.5))
    );

    // An operation with records cannot go.
    let addition = admin.operation_id("addition").await;
    assert_eq!(admin.process("addition", json!([1, 2])).await.status(), 200);
    refused(admin.delete(&format!("/api/v1/operations/{addition}")).await, 400, "Foreign key violation.").await;
}

pub async fn process_operation_computes_charges_and_refuses(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = Browser::login(&srv, CLIENT).await;
    let result = |body: Value| (body["result"].as_str().unwrap().to_string(), body["user_balance"].as_f64().unwrap());
    assert_eq!(result(json_with(client.process("division", json!([1, 4])).await, 200).await), ("0.25".into(), 15.0));
    assert_eq!(
        json_with(client.process("division", json!([1, 0])).await, 400).await,
        json!({"arguments": ["Division by zero is not allowed."]})
    );
    assert_eq!(
        json_with(client.process("addition", json!([1, 2, 3])).await, 400).await,
        json!({"arguments": ["Length must be between 1 and 2."]})
    );
    assert_eq!(
        json_with(client.process("multiplication", json!([3])).await, 400).await["arguments"].as_array().unwrap().len(),
        1
    );
    refused(client.process("modulo", json!([1, 2])).await, 404, "Operation not found.").await;
    assert_eq!(result(json_with(client.process("subtraction", json!([10, 4])).await, 200).await), ("6.0".into(), 10.0));
    let random = json_with(client.process("random_string", json!([16])).await, 200).await;
    assert_eq!(random["result"].as_str().unwrap().len(), 16);
    assert_eq!(result(json_with(client.process("square_root", json!([16])).await, 200).await), ("4.0".into(), 0.0));
    refused(client.process("addition", json!([1, 2])).await, 400, "Insufficient funds.").await;

    // Four charged operations, four records, newest first; failed ones left none.
    let records = json_with(client.get("/api/v1/records").await, 200).await;
    let responses: Vec<&str> =
        records["records"].as_array().unwrap().iter().map(|r| r["operation_response"].as_str().unwrap()).collect();
    assert_eq!(responses.len(), 4);
    assert_eq!((responses[0], responses[2], responses[3]), ("4.0", "6.0", "0.25"));
    let balances: Vec<f64> =
        records["records"].as_array().unwrap().iter().map(|r| r["user_balance"].as_f64().unwrap()).collect();
    assert_eq!(balances, [0.0, 5.0, 10.0, 15.0]);
}

pub async fn listings_page_filter_and_select(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let admin = Browser::login(&srv, ADMIN).await;
    for n in 0..7 {
        assert_eq!(admin.process("addition", json!([n, 1])).await.status(), 200);
    }
    let page =
        json_with(admin.get("/api/v1/records?page=2&page_size=3&fields=operation_response,amount").await, 200).await;
    assert_eq!(page["total_pages"], 3);
    assert_eq!(
        page["records"],
        json!([{"amount": 5.0, "operation_response": "4.0"}, {"amount": 5.0, "operation_response": "3.0"}, {"amount": 5.0, "operation_response": "2.0"}])
    );
    let filtered = json_with(admin.get("/api/v1/records?operation_response=7.0").await, 200).await;
    assert_eq!(filtered["records"].as_array().unwrap().len(), 1);
    for (query, named) in [
        ("colour=red", "colour"),
        ("page=two", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("fields=id,secret", "secret"),
    ] {
        let body = json_with(admin.get(&format!("/api/v1/operations?{query}")).await, 400).await;
        assert_eq!(body["status"], "error");
        assert!(body["message"].as_str().unwrap().contains(named), "{query}: {body}");
    }
}

pub async fn clients_see_only_their_own_records(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let client = Browser::login(&srv, CLIENT).await;
    let admin = Browser::login(&srv, ADMIN).await;
    assert_eq!(admin.process("addition", json!([1, 1])).await.status(), 200);
    assert_eq!(client.process("addition", json!([2, 2])).await.status(), 200);
    let mine = json_with(client.get("/api/v1/records").await, 200).await;
    assert_eq!(mine["records"].as_array().unwrap().len(), 1);
    let all = json_with(admin.get("/api/v1/records").await, 200).await;
    assert_eq!(all["records"].as_array().unwrap().len(), 2);
    let admins_record =
        all["records"].as_array().unwrap().iter().find(|r| r["operation_response"] == "2.0").unwrap()["id"].clone();
    let path = format!("/api/v1/records/{}", admins_record.as_str().unwrap());
    refused(client.get(&path).await, 404, "Record not found.").await;
    assert_eq!(json_with(admin.get(&path).await, 200).await["id"], admins_record);
    refused(client.delete(&path).await, 403, "Unauthorized access").await;
    assert_eq!(admin.patch(&path, json!({"operation_response": "two"})).await.status(), 204);
    assert_eq!(json_with(admin.get(&path).await, 200).await["operation_response"], "two");
    assert_eq!(
        json_with(admin.delete(&path).await, 200).await,
        json!({"message": "Record deleted", "status": "success"})
    );
    refused(admin.get(&path).await, 404, "Record not found.").await;
    let orphan =
        json!({"operation_id": "nope", "user_id": "nobody", "amount": 1, "user_balance": 1, "operation_response": "x"});
    refused(admin.post("/api/v1/records", orphan).await, 400, "Foreign key violation.").await;
}

pub async fn admins_manage_users(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let admin = Browser::login(&srv, ADMIN).await;
    let created =
        json_with(admin.post("/api/v1/users", json!({"email": "carol@example.com", "password": "pw"})).await, 201)
            .await;
    assert_eq!(created["message"], "User created");
    assert_eq!((created["user"]["role"].as_str(), created["user"]["balance"].as_f64()), (Some("client"), Some(20.0)));
    assert!(created["user"].get("password").is_none() && created["user"].get("password_hash").is_none());
    refused(
        admin.post("/api/v1/users", json!({"email": "Carol@example.com", "password": "pw"})).await,
        409,
        "User already exists.",
    )
    .await;
    let id = created["user"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/users/{id}");
    assert_eq!(admin.patch(&path, json!({"balance": 7.5, "role": "admin"})).await.status(), 204);
    let carol = json_with(admin.get(&path).await, 200).await;
    assert_eq!((carol["balance"].as_f64(), carol["role"].as_str()), (Some(7.5), Some("admin")));
    assert_eq!(json_with(admin.patch(&path, json!({})).await, 400).await["_schema"].as_array().unwrap().len(), 1);
    assert_eq!(
        json_with(admin.delete(&path).await, 200).await,
        json!({"message": "User deleted", "status": "success"})
    );
    refused(admin.get(&path).await, 404, "User not found.").await;
    // The email is free again: logging in with it registers a new client.
    let again = Browser::login(&srv, ("carol@example.com", "Secret12!")).await;
    assert_eq!(json_with(again.process("addition", json!([1, 1])).await, 200).await["user_balance"], json!(15.0));
}

pub async fn credit_is_never_overspent_under_concurrency(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let admin = Browser::login(&srv, ADMIN).await;
    let client = Browser::login(&srv, CLIENT).await;
    let affordable = 7;
    let id = admin.user(CLIENT.0).await["id"].as_str().unwrap().to_string();
    assert_eq!(
        admin.patch(&format!("/api/v1/users/{id}"), json!({"balance": 5.0 * affordable as f64})).await.status(),
        204
    );
    let attempts = 24;
    let outcomes = join_all((0..attempts).map(|n| client.process("addition", json!([n, 1])))).await;
    let statuses: Vec<u16> = outcomes.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), affordable, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), attempts - affordable, "{statuses:?}");
    assert_eq!(admin.user(CLIENT.0).await["balance"], json!(0.0));
    let records = json_with(client.get("/api/v1/records?page_size=100").await, 200).await;
    assert_eq!(records["records"].as_array().unwrap().len(), affordable);
}
