use super::*;
use http::Method;
use teamsapp_types::routes;

#[test]
fn query_encoding_keeps_odata_readable() {
    let q = encode_query(&[
        ("$filter", "teamsApp/externalId eq 'cf1b'".into()),
        ("$expand", "teamsAppDefinition($expand=bot)".into()),
        ("$select", "id,teamsApp".into()),
        ("$skiptoken", "a+b/c=&d".into()),
    ]);
    assert_eq!(
        q,
        "$filter=teamsApp/externalId%20eq%20%27cf1b%27&$expand=teamsAppDefinition($expand%3Dbot)&$select=id,teamsApp&$skiptoken=a%2Bb/c%3D%26d"
    );
    assert_eq!(encode_query(&[]), "");
}

#[test]
fn idempotency() {
    for route in routes::ALL {
        let expected = route.method != Method::POST || route.template.ends_with("/upgrade");
        assert_eq!(route.idempotent, expected, "{}", route.operation_id);
    }
}

#[test]
fn non_json_error_bodies_still_make_a_graph_error() {
    let e = graph_error(
        StatusCode::BAD_GATEWAY,
        b"<html>upstream down</html>",
        Some("r-1".into()),
        Some("c-1".into()),
        None,
    );
    assert_eq!(e.code(), "BadGateway");
    assert_eq!(e.message(), "<html>upstream down</html>");
    assert_eq!(e.request_id(), Some("r-1"));
    let e = graph_error(StatusCode::from_u16(599).unwrap(), b"", None, None, None);
    assert_eq!(e.code(), "UnknownError");
}

#[test]
fn root_certificates_must_be_a_pem_bundle() {
    for bad in [
        &b""[..],
        b"not pem",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        let err = Client::builder().root_certificates_pem(bad).unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
        assert!(err.to_string().contains("PEM"), "{err}");
    }
}

#[test]
fn builder_defaults_and_validation() {
    let c = Client::builder().build().unwrap();
    assert_eq!(c.base_url(), "https://graph.microsoft.com/v1.0");
    assert_eq!(c.authority(), "https://login.microsoftonline.com");
    assert_eq!(c.inner.scopes, ["https://graph.microsoft.com/.default"]);
    let c = Client::builder()
        .cloud(NationalCloud::China)
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "https://microsoftgraph.chinacloudapi.cn/v1.0");
    assert_eq!(c.authority(), "https://login.chinacloudapi.cn");
    let c = Client::builder()
        .base_url("http://127.0.0.1:8080/v1.0/")
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:8080/v1.0");
    assert_eq!(c.inner.scopes, ["http://127.0.0.1:8080/.default"]);
    assert_eq!(c.inner.cloud, None);
    let c = Client::builder()
        .base_url("https://graph.microsoft.us/v1.0")
        .build()
        .unwrap();
    assert_eq!(c.inner.cloud, Some(NationalCloud::UsGovL4));
    for bad in [
        "not a url",
        "ftp://x/v1.0",
        "https://x/v1.0?a=b",
        "mailto:a@b",
    ] {
        let err = Client::builder().base_url(bad).build().unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{bad}: {err}");
    }
}
