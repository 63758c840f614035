//! Paging: following `@odata.nextLink`, loops, resuming, foreign hosts.
//!
//! Graph documents no paging on installation lists, but a client follows any `@odata.nextLink` it
//! is given, on any list: these tests serve pages of a chat's installations from wiremock.

use futures_util::{StreamExt, TryStreamExt};
use serde_json::json;
use teamsapp_client::Error;
use teamsapp_types::{ListChatInstalledApps, TeamsAppInstallation};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn list_path() -> String {
    format!("/v1.0/chats/{CHAT_ENC}/installedApps")
}

fn link(server: &MockServer, token: &str) -> String {
    format!("{}{}?$skiptoken={token}", server.uri(), list_path())
}

fn page(ids: &[&str], next: Option<String>) -> ResponseTemplate {
    let value: Vec<_> = ids.iter().map(|id| json!({ "id": id })).collect();
    let mut body = json!({ "value": value });
    if let Some(next) = next {
        body["@odata.nextLink"] = json!(next);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// Three pages: a b | c | d, linked by $skiptoken p2 and p3 (or `p2_next` for page 2's link).
async fn mount_pages(server: &MockServer, page2_next: Option<String>) {
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(page(&["a", "b"], Some(link(server, "p2"))))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param("$skiptoken", "p2"))
        .respond_with(page(&["c"], page2_next))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param("$skiptoken", "p3"))
        .respond_with(page(&["d"], None))
        .mount(server)
        .await;
}

fn ids(items: &[TeamsAppInstallation]) -> Vec<&str> {
    items.iter().filter_map(|i| i.id.as_deref()).collect()
}

#[tokio::test]
async fn items_follow_next_links_to_the_end() {
    let server = MockServer::start().await;
    mount_pages(&server, Some(link(&server, "p3"))).await;
    let client = client(&server);
    let items: Vec<_> = client
        .items(&ListChatInstalledApps::new(chat()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&items), ["a", "b", "c", "d"]);
    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].url.query(), None);
    assert_eq!(requests[1].url.query(), Some("$skiptoken=p2"));
    // Follow-up pages carry the same headers: token, user agent, a fresh client-request-id.
    assert_common_headers(&requests);
}

#[tokio::test]
async fn a_next_link_seen_twice_is_a_loop() {
    let server = MockServer::start().await;
    // Page 2 links back to itself.
    mount_pages(&server, Some(link(&server, "p2"))).await;
    let client = client(&server);
    let results: Vec<_> = client
        .items(&ListChatInstalledApps::new(chat()))
        .collect()
        .await;
    assert_eq!(results.len(), 4, "a, b, c, then the error");
    match &results[3] {
        Err(Error::PagingLoop { link: l }) => assert_eq!(*l, link(&server, "p2")),
        other => panic!("expected a paging loop, got {other:?}"),
    }
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn paging_resumes_from_a_saved_link() {
    let server = MockServer::start().await;
    mount_pages(&server, Some(link(&server, "p3"))).await;
    let client = client(&server);
    let mut pages = client.pages(&ListChatInstalledApps::new(chat()));
    assert_eq!(pages.next_link(), None);
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(ids(&first.value), ["a", "b"]);
    let saved = pages.next_link().unwrap().to_owned();
    assert_eq!(saved, link(&server, "p2"));
    drop(pages);

    // Later, maybe in another process.
    let mut resumed = client.resume_from::<ListChatInstalledApps>(saved.clone());
    assert_eq!(resumed.next_link(), Some(saved.as_str()));
    let mut rest = Vec::new();
    while let Some(page) = resumed.try_next().await.unwrap() {
        rest.extend(page.value);
    }
    assert_eq!(ids(&rest), ["c", "d"]);
    assert_eq!(resumed.next_link(), None);
}

#[tokio::test]
async fn a_failed_page_keeps_its_link_for_resuming() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "p2"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_pages(&server, Some(link(&server, "p3"))).await;
    let client = client(&server);
    let mut items = client.items(&ListChatInstalledApps::new(chat()));
    assert_eq!(
        items.try_next().await.unwrap().unwrap().id.as_deref(),
        Some("a")
    );
    assert_eq!(items.remaining_in_page(), 1);
    assert_eq!(
        items.try_next().await.unwrap().unwrap().id.as_deref(),
        Some("b")
    );
    let err = items.try_next().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    let saved = items.next_link().unwrap().to_owned();
    assert!(
        items.next().await.is_none(),
        "the stream ends after an error"
    );
    let rest: Vec<_> = client
        .resume_from::<ListChatInstalledApps>(saved)
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&rest), ["c", "d"]);
}

#[tokio::test]
async fn next_links_to_another_host_are_refused() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(page(&["x"], None))
        .mount(&elsewhere)
        .await;
    let foreign = link(&elsewhere, "p2");
    mount_pages(&server, None).await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "evil"))
        .respond_with(page(&["c"], Some(foreign.clone())))
        .mount(&server)
        .await;
    let client = client(&server);
    let results: Vec<_> = client
        .resume_from::<ListChatInstalledApps>(link(&server, "evil"))
        .items()
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    assert!(matches!(&results[1], Err(Error::ForeignNextLink { link }) if *link == foreign));
    assert!(
        received(&elsewhere).await.is_empty(),
        "the token never left the base host"
    );

    // Resuming from a foreign link is refused too.
    let results: Vec<_> = client
        .resume_from::<ListChatInstalledApps>(foreign)
        .collect()
        .await;
    assert!(matches!(&results[..], [Err(Error::ForeignNextLink { .. })]));
    // And from garbage.
    let results: Vec<_> = client
        .resume_from::<ListChatInstalledApps>("not a url")
        .collect()
        .await;
    assert!(matches!(&results[..], [Err(Error::ForeignNextLink { .. })]));
    assert!(received(&elsewhere).await.is_empty());
}
