use crate::support::TestApp;

/// Every `src="..."`/`href="..."` value in an HTML page.
fn referenced_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for part in html.split(attribute).skip(1) {
            if let Some(end) = part.find('"') {
                urls.push(part[..end].to_owned());
            }
        }
    }
    urls
}

#[tokio::test]
async fn docs_page_and_assets_are_served_locally() {
    let app = TestApp::spawn().await;

    let redirect = app.get("/docs").await;
    assert!(redirect.status().is_redirection());

    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");

    let urls = referenced_urls(&html);
    assert!(urls.len() >= 3, "{urls:?}");
    for url in &urls {
        assert!(
            !url.contains("://") && !url.starts_with("//"),
            "the docs page loads {url} from another host"
        );
        let asset = app
            .get(&format!("/docs/{}", url.trim_start_matches("./")))
            .await;
        assert_eq!(asset.status(), 200, "asset {url}");
        assert!(!asset.bytes().await.unwrap().is_empty(), "asset {url}");
    }

    let init = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("\"url\": \"/openapi.json\""), "{init}");
    // Swagger UI's default validator badge fetches from an external service.
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(
        !init.contains("http://") && !init.contains("https://"),
        "{init}"
    );
}
