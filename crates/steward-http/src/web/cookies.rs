//! Reading the cookies a browser sends and writing the ones Steward sets. Every cookie is
//! `HttpOnly` (no script reads it) and `SameSite=Strict` (no other site's request carries
//! it), stays on the path of the pages that use it, and is `Secure` when Steward serves TLS.

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of the cookie `name` among the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Where the cookies of one part of the site are sent back, and whether only over TLS.
#[derive(Debug, Clone, Copy)]
pub struct CookiePath {
    path: &'static str,
    secure: bool,
}

impl CookiePath {
    pub fn new(path: &'static str, secure: bool) -> CookiePath {
        CookiePath { path, secure }
    }

    /// A `Set-Cookie` value for a cookie that lasts as long as the browser's session; `None`
    /// when the value holds characters a cookie cannot.
    pub fn set(&self, name: &str, value: &str) -> Option<HeaderValue> {
        self.header(name, value, None)
    }

    /// A `Set-Cookie` value for a cookie that lasts `seconds`.
    pub fn set_for(&self, name: &str, value: &str, seconds: i64) -> Option<HeaderValue> {
        self.header(name, value, Some(seconds))
    }

    /// A `Set-Cookie` value that makes the browser forget the cookie.
    pub fn clear(&self, name: &str) -> Option<HeaderValue> {
        self.header(name, "", Some(0))
    }

    fn header(&self, name: &str, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
        let max_age = max_age
            .map(|s| format!("; Max-Age={s}"))
            .unwrap_or_default();
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path={}; HttpOnly; SameSite=Strict{max_age}{secure}",
            self.path
        ))
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_written_as_browsers_keep_them() {
        let console = CookiePath::new("/console", false);
        assert_eq!(
            console.set("a", "1").as_ref().map(|v| v.as_bytes()),
            Some(&b"a=1; Path=/console; HttpOnly; SameSite=Strict"[..])
        );
        assert_eq!(
            console.clear("a").as_ref().map(|v| v.as_bytes()),
            Some(&b"a=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"[..])
        );
        let portal = CookiePath::new("/portal", true);
        assert_eq!(
            portal.set_for("p", "2", 60).as_ref().map(|v| v.as_bytes()),
            Some(&b"p=2; Path=/portal; HttpOnly; SameSite=Strict; Max-Age=60; Secure"[..])
        );
    }

    #[test]
    fn a_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("x=1; y=2"));
        headers.append(header::COOKIE, HeaderValue::from_static("z=3"));
        assert_eq!(cookie(&headers, "y").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, "z").as_deref(), Some("3"));
        assert_eq!(cookie(&headers, "w"), None);
    }
}
