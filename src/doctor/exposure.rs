//! How reachable the endpoint is, from the bind address and the configured public URL.

use crate::report::Exposure;

/// Hosts of tunnel services people put in front of a local MCP server. Anything else
/// with HTTPS is taken to be the user's own reverse proxy.
const TUNNEL_SUFFIXES: &[&str] = &[
    ".trycloudflare.com",
    ".cfargotunnel.com",
    ".ngrok.io",
    ".ngrok.app",
    ".ngrok-free.app",
    ".ngrok.dev",
    ".ts.net",
    ".loca.lt",
    ".devtunnels.ms",
    ".tunnelmole.net",
    ".pinggy.link",
];

/// The exposure mode, whether remote clients use HTTPS, and why.
pub fn classify(host: &str, public_url: Option<&str>) -> (Exposure, bool, String) {
    let Some(public) = public_url else {
        return if is_loopback(host) {
            (
                Exposure::LocalOnly,
                false,
                format!("listens on {host} only: reachable from this machine alone"),
            )
        } else {
            (
                Exposure::Lan,
                false,
                format!(
                    "listens on {host}: reachable from the network over plain HTTP, so the bearer token crosses it unencrypted"
                ),
            )
        };
    };
    let url = match reqwest::Url::parse(public) {
        Ok(u) => u,
        Err(e) => {
            return (
                Exposure::Misconfigured,
                false,
                format!("public_url {public:?} is not a URL: {e}"),
            );
        }
    };
    let Some(name) = url.host_str().map(str::to_ascii_lowercase) else {
        return (
            Exposure::Misconfigured,
            false,
            format!("public_url {public:?} has no host"),
        );
    };
    if url.scheme() != "https" {
        return (
            Exposure::Misconfigured,
            false,
            format!(
                "public_url {public} is not HTTPS: remote clients would send the bearer token in clear text"
            ),
        );
    }
    let dotted = format!(".{name}");
    match TUNNEL_SUFFIXES.iter().find(|s| dotted.ends_with(*s)) {
        Some(s) => (
            Exposure::Tunnel,
            true,
            format!("public_url {public} is a tunnel ({})", &s[1..]),
        ),
        None => (
            Exposure::ReverseProxy,
            true,
            format!("public_url {public} is served over HTTPS, presumably by a reverse proxy"),
        ),
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode() {
        let cases: &[(&str, Option<&str>, Exposure, bool)] = &[
            ("127.0.0.1", None, Exposure::LocalOnly, false),
            ("localhost", None, Exposure::LocalOnly, false),
            ("::1", None, Exposure::LocalOnly, false),
            ("127.0.0.2", None, Exposure::LocalOnly, false),
            ("0.0.0.0", None, Exposure::Lan, false),
            ("192.168.1.5", None, Exposure::Lan, false),
            (
                "127.0.0.1",
                Some("https://abc.trycloudflare.com/mcp"),
                Exposure::Tunnel,
                true,
            ),
            (
                "127.0.0.1",
                Some("https://box.tail1234.ts.net/mcp"),
                Exposure::Tunnel,
                true,
            ),
            (
                "127.0.0.1",
                Some("https://X.NGROK-FREE.APP"),
                Exposure::Tunnel,
                true,
            ),
            (
                "127.0.0.1",
                Some("https://mcp.example.com/mcp"),
                Exposure::ReverseProxy,
                true,
            ),
            // A look-alike is not the tunnel service.
            (
                "127.0.0.1",
                Some("https://evilngrok.io/"),
                Exposure::ReverseProxy,
                true,
            ),
            (
                "127.0.0.1",
                Some("http://mcp.example.com/mcp"),
                Exposure::Misconfigured,
                false,
            ),
            (
                "127.0.0.1",
                Some("not a url"),
                Exposure::Misconfigured,
                false,
            ),
        ];
        for (host, public, want, https) in cases {
            let (got, h, detail) = classify(host, *public);
            assert_eq!((got, h), (*want, *https), "{host} {public:?}: {detail}");
            assert!(!detail.is_empty());
        }
    }
}
