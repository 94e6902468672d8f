//! Tests of GET /events, the audit trail: admins read every event, managers
//! those of their orders; filters, order, and what an event never holds.

use chrono::{NaiveDateTime, SecondsFormat};
use diesel::prelude::*;
use license_server::db::schema::audit_events;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, Customer, TestApp, enc, ids, items, time};

/// GET /events with this query (asserts 200).
async fn events(app: &TestApp, token: &str, query: &str) -> Value {
    app.get(&format!("/events?per_page=200&{query}"), token).await.assert_status(200).clone()
}

fn actions(list: &Value) -> Vec<String> {
    items(list).iter().map(|e| e["action"].as_str().expect("action").to_owned()).collect()
}

/// Every row of the audit trail, straight from the database.
async fn stored_count(app: &TestApp) -> i64 {
    app.state
        .db
        .run(|conn| Ok::<_, license_server::db::DbError>(audit_events::table.count().get_result::<i64>(conn)?))
        .await
        .expect("count events")
}

/// Adds a user as the customer's manager (asserts 201) and returns the answer.
async fn add_user(app: &TestApp, customer: &Customer, email: &str) -> Value {
    let path = format!("/licenses/{}/users", customer.user_license_id);
    app.post(&path, &customer.manager_token, json!({ "email": email })).await.assert_status(201).clone()
}

#[actix_web::test]
async fn the_admin_sees_every_event_newest_first() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    app.state.clock.advance(10);
    add_user(&app, &c, "anna@customer.example").await;
    app.state.clock.advance(10);
    app.patch(&format!("/licenses/{}", c.computer_license_id), &app.admin_token, json!({ "seats": 3 }))
        .await
        .assert_status(200);

    let newest_first = events(&app, &app.admin_token, "").await;

    assert_eq!(newest_first["total"], stored_count(&app).await);
    assert_eq!(items(&newest_first).len() as i64, stored_count(&app).await);
    assert_eq!(actions(&newest_first)[..2], ["license.updated", "license_user.created"]);
    let times: Vec<NaiveDateTime> = items(&newest_first).iter().map(|e| time(&e["at"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(actions(&newest_first).contains(&"order.created".to_owned()));
    assert!(actions(&newest_first).contains(&"product.created".to_owned()));

    let oldest_first = events(&app, &app.admin_token, "sort=at").await;
    let mut reversed = ids(&newest_first);
    reversed.reverse();
    assert_eq!(ids(&oldest_first), reversed);
    assert_eq!(actions(&oldest_first).last().map(String::as_str), Some("license.updated"));
    assert_eq!(ids(&events(&app, &app.admin_token, "sort=-at").await), ids(&newest_first));
    app.get("/events?sort=action", &app.admin_token).await.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn events_page_without_skipping_or_repeating() {
    let app = TestApp::spawn().await;
    // One order writes several events at the same instant: ties are broken by id.
    app.order("SO-1", "max@customer.example").await;
    let all = ids(&events(&app, &app.admin_token, "").await);
    assert!(all.len() >= 6, "{all:?}");

    let mut paged = Vec::new();
    let mut page = 1;
    loop {
        let answer = app.get(&format!("/events?per_page=2&page={page}"), &app.admin_token).await;
        let answer = answer.assert_status(200);
        assert_eq!(answer["total"], all.len());
        assert_eq!(answer["per_page"], 2);
        if items(answer).is_empty() {
            break;
        }
        paged.extend(ids(answer));
        page += 1;
    }
    assert_eq!(paged, all);
}

#[actix_web::test]
async fn a_manager_sees_only_the_events_of_its_orders() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "max@a.example").await;
    let b = app.order("SO-B", "max@b.example").await;
    add_user(&app, &a, "anna@a.example").await;
    add_user(&app, &b, "bert@b.example").await;
    app.shop_key().await;

    let seen = events(&app, &a.manager_token, "").await;

    assert!(!items(&seen).is_empty());
    for event in items(&seen) {
        assert_eq!(event["order_id"], a.order_id.as_str(), "{event}");
    }
    let of_a = events(&app, &app.admin_token, &format!("order_id={}", a.order_id)).await;
    assert_eq!(ids(&seen), ids(&of_a));
    assert_eq!(seen["total"], of_a["total"]);
    assert!(actions(&seen).contains(&"license_user.created".to_owned()));
    assert!(actions(&seen).contains(&"order.created".to_owned()));
    for foreign in [&b.order_id, &b.user_license_id, &b.computer_license_id, "bert@b.example", "api_key.created"] {
        assert!(!seen.to_string().contains(foreign), "{foreign} leaked");
    }
    let products = events(&app, &a.manager_token, "action=product.created").await;
    assert_eq!(products["total"], 0, "events of no order are not a manager's");
}

#[actix_web::test]
async fn a_manager_filtering_on_another_customers_ids_sees_nothing() {
    let app = TestApp::spawn().await;
    let victim = app.order("SO-A", "max@a.example").await;
    let intruder = app.order("SO-B", "eve@b.example").await;
    add_user(&app, &victim, "anna@a.example").await;
    let before = stored_count(&app).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    for query in [
        format!("order_id={}", victim.order_id),
        format!("license_id={}", victim.user_license_id),
        format!("license_id={}", victim.computer_license_id),
        format!("order_id={}&action=license_user.created", victim.order_id),
    ] {
        let answer = app.get(&format!("/events?{query}"), &intruder.manager_token).await;
        let answer = answer.assert_status(200);
        assert_eq!(answer["total"], 0, "{query}");
        assert_eq!(answer["items"], json!([]), "{query}");
        // Exactly what an id that names nothing answers: no hint that it exists.
        let nothing = app.get(&format!("/events?order_id={unknown}"), &intruder.manager_token).await;
        assert_eq!(nothing.body["total"], answer["total"]);
    }
    let own = events(&app, &intruder.manager_token, "action=license_user.created").await;
    assert_eq!(own["total"], 0);
    assert_eq!(stored_count(&app).await, before);
}

#[actix_web::test]
async fn events_filter_by_order_license_action_and_since() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "max@a.example").await;
    let b = app.order("SO-B", "max@b.example").await;
    add_user(&app, &a, "first@a.example").await;
    app.patch(&format!("/licenses/{}", a.computer_license_id), &app.admin_token, json!({ "seats": 4 }))
        .await
        .assert_status(200);
    app.state.clock.advance(60);
    let since = app.state.clock.now_utc();
    add_user(&app, &a, "second@a.example").await;
    add_user(&app, &b, "bert@b.example").await;
    let token = &app.admin_token;

    let of_a = events(&app, token, &format!("order_id={}", a.order_id)).await;
    assert!(items(&of_a).iter().all(|e| e["order_id"] == a.order_id.as_str()));
    assert!(actions(&of_a).contains(&"license.updated".to_owned()));
    assert_eq!(actions(&of_a).iter().filter(|a| *a == "license_user.created").count(), 2);

    let of_license = events(&app, token, &format!("license_id={}", a.user_license_id)).await;
    assert!(items(&of_license).iter().all(|e| e["license_id"] == a.user_license_id.as_str()));
    assert_eq!(actions(&of_license).iter().filter(|a| *a == "license_user.created").count(), 2);
    assert!(!actions(&of_license).contains(&"license.updated".to_owned()));

    let created = events(&app, token, "action=license_user.created").await;
    assert_eq!(created["total"], 3);
    assert!(actions(&created).iter().all(|a| a == "license_user.created"));
    assert_eq!(events(&app, &a.manager_token, "action=license_user.created").await["total"], 2);
    assert_eq!(events(&app, token, "action=no.such_action").await["total"], 0);

    let recent =
        events(&app, token, &format!("since={}", enc(&since.to_rfc3339_opts(SecondsFormat::Micros, true)))).await;
    assert_eq!(recent["total"], 2, "{recent}");
    assert!(items(&recent).iter().all(|e| time(&e["at"]) >= since.naive_utc()));
    let offset = since.with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap());
    let same = events(&app, token, &format!("since={}", enc(&offset.to_rfc3339()))).await;
    assert_eq!(same["total"], 2, "an offset names the same instant");

    let combined = events(
        &app,
        token,
        &format!(
            "order_id={}&license_id={}&action=license_user.created&since={}",
            a.order_id,
            a.user_license_id,
            enc(&since.to_rfc3339())
        ),
    )
    .await;
    assert_eq!(combined["total"], 1);
    assert_eq!(combined["items"][0]["details"]["email"], "second@a.example");
}

#[actix_web::test]
async fn events_are_searched_by_action_actor_hardware_and_subject() {
    let app = TestApp::spawn().await;
    let a = app.order("SO-A", "max@a.example").await;
    let b = app.order("SO-B", "eve@b.example").await;
    app.patch(&format!("/licenses/{}", a.computer_license_id), &app.admin_token, json!({ "seats": 4 }))
        .await
        .assert_status(200);
    let key = a.order["licenses"][1]["key"].as_str().unwrap();
    for hardware_id in ["pc_1", "pcx1", "50%pc", "50xpc"] {
        app.call(
            Method::POST,
            "/client/activate",
            None,
            Some(json!({ "license_key": key, "hardware_id": hardware_id })),
        )
        .await
        .assert_status(200);
        app.state.clock.advance(1);
    }
    let user = add_user(&app, &a, "anna@a.example").await["user"]["id"].as_str().unwrap().to_owned();
    add_user(&app, &b, "bert@b.example").await;
    let token = &app.admin_token;
    let found = |token: String, q: &'static str| {
        let app = &app;
        async move {
            let answer = events(app, &token, &format!("q={}", enc(q))).await;
            assert_eq!(answer["total"], items(&answer).len(), "{q}: the total counts the matches");
            answer
        }
    };
    let hardware = |list: &Value| -> Vec<String> {
        items(list).iter().map(|e| e["hardware_id"].as_str().unwrap_or("-").to_owned()).collect()
    };

    // The hardware id; `%` and `_` are literal, not LIKE wildcards.
    let pc_1 = found(token.clone(), "PC_1").await;
    assert_eq!(actions(&pc_1), ["device.activated"]);
    assert_eq!(hardware(&pc_1), ["pc_1"]);
    assert_eq!(hardware(&found(token.clone(), "50%").await), ["50%pc"]);
    assert_eq!(hardware(&found(token.clone(), "%").await), ["50%pc"]);
    assert_eq!(hardware(&found(token.clone(), "pc").await), ["50xpc", "50%pc", "pcx1", "pc_1"]);
    // The action, in any case; `e_u` is in `license_user` but not in `license.updated`.
    let created = found(token.clone(), " License_User.CREATED ").await;
    assert_eq!(actions(&created), ["license_user.created", "license_user.created"]);
    assert!(events(&app, token, "").await.to_string().contains("license.updated"));
    let e_u = found(token.clone(), "e_u").await;
    assert!(!actions(&e_u).is_empty());
    assert!(actions(&e_u).iter().all(|a| a.starts_with("license_user.")), "{e_u}");
    // The actor's e-mail.
    let by_max = found(token.clone(), "MAX@A.example").await;
    assert_eq!(actions(&by_max), ["license_user.created"]);
    assert_eq!(by_max["items"][0]["actor"]["email"], "max@a.example");
    // The subject.
    let about = events(&app, token, &format!("q={}", user.to_uppercase())).await;
    assert_eq!(actions(&about), ["license_user.created"]);
    assert_eq!(about["items"][0]["subject_id"], user.as_str());
    // Not the details: the added user's e-mail is only there.
    assert_eq!(found(token.clone(), "anna@a.example").await["total"], 0);
    // With the other filters, and a page's total counts every match.
    let of_b = events(&app, token, &format!("q=license_user&order_id={}", b.order_id)).await;
    assert_eq!(of_b["total"], 1);
    let page = app.get("/events?q=pc&per_page=1", token).await;
    assert_eq!(page.assert_status(200)["total"], 4);
    assert_eq!(items(&page.body).len(), 1);
    // A manager searches only the events of its orders.
    assert_eq!(found(b.manager_token.clone(), "pc").await["total"], 0);
    assert_eq!(actions(&found(b.manager_token.clone(), "license_user").await), ["license_user.created"]);
    assert_eq!(found(b.manager_token.clone(), "max@a.example").await["total"], 0);
}

#[actix_web::test]
async fn invalid_filters_are_422() {
    let app = TestApp::spawn().await;
    let token = &app.admin_token;

    let order = app.get("/events?order_id=not-an-id", token).await;
    order.assert_problem(422, "VALIDATION_FAILED");
    assert!(order.body["errors"]["order_id"].is_array(), "{}", order.text);
    let license = app.get("/events?license_id=12345", token).await;
    license.assert_problem(422, "VALIDATION_FAILED");
    assert!(license.body["errors"]["license_id"].is_array(), "{}", license.text);
    app.get("/events?since=yesterday", token).await.assert_problem(422, "VALIDATION_FAILED");
    app.get("/events?page=0", token).await.assert_problem(422, "VALIDATION_FAILED");
    app.get("/events?per_page=500", token).await.assert_problem(422, "VALIDATION_FAILED");
}

#[actix_web::test]
async fn events_never_hold_a_password_or_token() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    let mut secrets = vec![c.manager_password.clone(), c.manager_token.clone(), app.admin_token.clone()];
    let users = format!("/licenses/{}/users", c.user_license_id);

    let generated = add_user(&app, &c, "anna@customer.example").await;
    secrets.push(generated["initial_password"].as_str().unwrap().to_owned());
    let chosen = "chosen license password";
    let added =
        app.post(&users, &c.manager_token, json!({ "email": "bert@customer.example", "password": chosen })).await;
    let bert = added.assert_status(201)["user"]["id"].as_str().unwrap().to_owned();
    secrets.push(chosen.to_owned());
    let reset = app.call(Method::POST, &format!("{users}/{bert}/password"), Some(&c.manager_token), None).await;
    secrets.push(reset.assert_status(200)["password"].as_str().unwrap().to_owned());
    let set_to = "another chosen password";
    let set = app.post(&format!("{users}/{bert}/password"), &c.manager_token, json!({ "password": set_to })).await;
    assert_eq!(set.status, 204);
    secrets.push(set_to.to_owned());
    let second = app
        .post(
            &format!("/orders/{}/managers", c.order_id),
            &c.manager_token,
            json!({ "email": "second@customer.example" }),
        )
        .await;
    let second = second.assert_status(201).clone();
    secrets.push(second["initial_password"].as_str().unwrap().to_owned());
    let second_id = second["manager"]["id"].as_str().unwrap().to_owned();
    let new_password =
        app.call(Method::POST, &format!("/managers/{second_id}/password"), Some(&app.admin_token), None).await;
    secrets.push(new_password.assert_status(200)["password"].as_str().unwrap().to_owned());
    let own = "the manager's own new password";
    let changed = app
        .call(
            Method::PUT,
            "/me/password",
            Some(&c.manager_token),
            Some(json!({ "current_password": c.manager_password, "new_password": own })),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    secrets.push(own.to_owned());
    let login = app.login("max@customer.example", own).await;
    secrets.push(login["refresh_token"].as_str().unwrap().to_owned());
    secrets.push(login["access_token"].as_str().unwrap().to_owned());
    secrets.push(app.shop_key().await);

    let trail = app.get("/events?per_page=200", &app.admin_token).await;
    let trail = trail.assert_status(200);
    let actions = actions(trail);
    for expected in ["license_user.created", "license_user.password_set", "order_manager.added", "api_key.created"] {
        assert!(actions.contains(&expected.to_owned()), "{expected} recorded");
    }
    let stored: Vec<String> = app
        .state
        .db
        .run(|conn| {
            Ok::<_, license_server::db::DbError>(
                audit_events::table.select(audit_events::details).load::<String>(conn)?,
            )
        })
        .await
        .unwrap();
    let stored = stored.join("\n");
    for secret in &secrets {
        assert!(secret.len() >= 12, "{secret}");
        assert!(!trail.to_string().contains(secret.as_str()), "a secret in the events: {secret}");
        assert!(!stored.contains(secret.as_str()), "a secret stored in the audit trail: {secret}");
    }
}

#[actix_web::test]
async fn events_record_who_did_it_from_where_in_which_request() {
    let app = TestApp::spawn().await;
    let admin_id = app.get("/me", &app.admin_token).await.assert_status(200)["id"].as_str().unwrap().to_owned();
    let c = app.order("SO-1", "max@customer.example").await;
    let added = app
        .post(
            &format!("/licenses/{}/users", c.user_license_id),
            &c.manager_token,
            json!({ "email": "a@customer.example" }),
        )
        .await;
    let request_id = added.header("x-request-id").unwrap().to_owned();
    let user_id = added.assert_status(201)["user"]["id"].as_str().unwrap().to_owned();
    let key = app.post("/api-keys", &app.admin_token, json!({ "name": "web shop" })).await.assert_status(201).clone();
    let shop_order = json!({
        "number": "SO-SHOP",
        "customer": { "company": "Shop Customer" },
        "licenses": [{ "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 }],
        "managers": [{ "email": "buyer@shop.example" }],
    });
    let shop_order = app.post("/orders", key["key"].as_str().unwrap(), shop_order).await.assert_status(201).clone();

    let by_manager = events(&app, &app.admin_token, "action=license_user.created").await;
    let event = &by_manager["items"][0];
    assert_eq!(event["actor"], json!({ "kind": "manager", "id": c.manager_id, "email": "max@customer.example" }));
    assert_eq!(event["order_id"], c.order_id.as_str());
    assert_eq!(event["license_id"], c.user_license_id.as_str());
    assert_eq!(event["subject_id"], user_id.as_str());
    assert_eq!(event["request_id"], request_id.as_str());
    assert_eq!(event["ip"], "127.0.0.1");
    assert!(event["details"].is_object());
    for key in [
        "id",
        "at",
        "actor",
        "action",
        "order_id",
        "license_id",
        "subject_id",
        "hardware_id",
        "ip",
        "request_id",
        "details",
    ] {
        assert!(event.get(key).is_some(), "{key} in {event}");
    }

    let by_admin = events(&app, &app.admin_token, &format!("action=order.created&order_id={}", c.order_id)).await;
    assert_eq!(by_admin["items"][0]["actor"]["kind"], "admin");
    assert_eq!(by_admin["items"][0]["actor"]["id"], admin_id.as_str());
    assert_eq!(by_admin["items"][0]["actor"]["email"], ADMIN_EMAIL);

    let by_shop = events(
        &app,
        &app.admin_token,
        &format!("action=order.created&order_id={}", shop_order["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(by_shop["total"], 1);
    assert_eq!(by_shop["items"][0]["actor"]["kind"], "shop");
    assert_eq!(by_shop["items"][0]["actor"]["id"], key["id"]);
}

#[actix_web::test]
async fn the_shop_key_may_not_read_events() {
    let app = TestApp::spawn().await;
    let key = app.shop_key().await;

    app.get("/events", &key).await.assert_problem(403, "FORBIDDEN");
    app.call(Method::GET, "/events", None, None).await.assert_problem(401, "INVALID_TOKEN");
}

#[actix_web::test]
async fn events_cannot_be_changed_or_deleted_through_the_api() {
    let app = TestApp::spawn().await;
    let first = events(&app, &app.admin_token, "").await["items"][0]["id"].as_str().unwrap().to_owned();

    app.post("/events", &app.admin_token, json!({ "action": "forged" }))
        .await
        .assert_problem(405, "METHOD_NOT_ALLOWED");
    app.delete("/events", &app.admin_token).await.assert_problem(405, "METHOD_NOT_ALLOWED");
    let one = app.delete(&format!("/events/{first}"), &app.admin_token).await;
    assert!(one.status == 404 || one.status == 405, "{}", one.text);

    assert_eq!(events(&app, &app.admin_token, "").await["items"][0]["id"], first.as_str());
    assert_eq!(app.count_events("forged").await, 0);
}

#[actix_web::test]
async fn a_manager_sees_addresses_of_its_own_side_only() {
    let app = TestApp::spawn().await;
    let c = app.order("SO-1", "max@customer.example").await;
    add_user(&app, &c, "a@customer.example").await;
    let shop = app.shop_key().await;
    let license = json!({ "order_id": c.order_id, "product_code": "CODE-SO-1", "kind": "user_based", "seats": 1 });
    app.post("/licenses", &shop, license).await.assert_status(201);

    let seen_by_manager = events(&app, &c.manager_token, "").await;
    let seen_by_admin = events(&app, &app.admin_token, "").await;

    let ip_of = |list: &Value, kind: &str| -> Vec<Value> {
        items(list).iter().filter(|e| e["actor"]["kind"] == kind).map(|e| e["ip"].clone()).collect()
    };
    for kind in ["admin", "shop"] {
        let by_admin = ip_of(&seen_by_admin, kind);
        assert!(!by_admin.is_empty() && by_admin.iter().all(|ip| ip == "127.0.0.1"), "{kind}: {by_admin:?}");
        let by_manager = ip_of(&seen_by_manager, kind);
        assert!(!by_manager.is_empty() && by_manager.iter().all(Value::is_null), "{kind}: {by_manager:?}");
    }
    assert_eq!(ip_of(&seen_by_manager, "manager"), [json!("127.0.0.1")]);
}
