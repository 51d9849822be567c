//! The only code that speaks SMTP (with `lettre`, over rustls): the mail server's
//! settings as parsed from `GAPRELAY_SMTP_URL`/`GAPRELAY_SMTP_FROM`, and the notifier
//! that emails a practice its alerts.

use super::{Notifier, RenderedEmail};
use crate::crypto::secret::SecretString;
use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one conversation with the mail server may take (connect, TLS, send).
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`smtps://`, port 465 by default).
    Tls,
    /// Plain connection upgraded with STARTTLS, which the server must offer
    /// (`smtp://`, port 587 by default).
    StartTls,
    /// No encryption at all (`smtp://…?tls=none`, port 25 by default): for a mail relay
    /// on the same host or a test server only; refused with credentials.
    None,
}

/// The mail server alerts go through, and the sender they carry. Its `Debug` never
/// shows the credentials.
#[derive(Clone)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<(String, SecretString)>,
    from: Mailbox,
    /// PEM roots trusted for this server besides the system's (a private CA).
    ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[redacted]"),
            )
            .field("from", &self.from.email.to_string())
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl SmtpSettings {
    /// Parses the server URL (`smtp://user:pass@host:587` for STARTTLS,
    /// `smtps://user:pass@host:465` for TLS, `smtp://host:25?tls=none` for no
    /// encryption) and the sender (`alerts@example.com` or `gaprelay <alerts@…>`).
    /// The user name and password are percent-decoded. An error names what is wrong
    /// and never quotes the URL (it may hold a password).
    pub fn parse(url: &str, from: &str) -> Result<SmtpSettings, String> {
        let url = url::Url::parse(url.trim()).map_err(|_| {
            "is not a URL; write it like smtp://user:password@mail.example.com:587 (STARTTLS), \
             smtps://user:password@mail.example.com:465 (TLS) or smtp://127.0.0.1:25?tls=none"
                .to_owned()
        })?;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            _ => return Err("must start with smtp:// or smtps://".to_owned()),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("needs the mail server's host name")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err("takes no path or fragment".to_owned());
        }
        let mut security = if implicit_tls {
            Security::Tls
        } else {
            Security::StartTls
        };
        for (key, value) in url.query_pairs() {
            security = match (key.as_ref(), value.as_ref(), implicit_tls) {
                ("tls", "starttls", false) => Security::StartTls,
                ("tls", "none", false) => Security::None,
                ("tls", "tls", true) => Security::Tls,
                ("tls", _, false) => return Err("tls= must be starttls or none".to_owned()),
                ("tls", _, true) => {
                    return Err("smtps:// always uses TLS; drop its tls= option".to_owned())
                }
                _ => return Err("the only option it takes is tls=starttls or tls=none".to_owned()),
            };
        }
        let port = url.port().unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        let decode = |s: &str| {
            percent_decode(s).ok_or("its user name or password is not valid percent-encoded UTF-8")
        };
        let user = decode(url.username())?;
        let password = url.password().map(decode).transpose()?;
        let credentials = match (user.is_empty(), password) {
            (true, None) => None,
            (true, Some(_)) => return Err("has a password but no user name".to_owned()),
            (false, password) => Some((user, SecretString::new(password.unwrap_or_default()))),
        };
        if credentials.is_some() && security == Security::None {
            return Err(
                "would send its password unencrypted: use STARTTLS (the default) or smtps://"
                    .to_owned(),
            );
        }
        let from = from.trim().parse::<Mailbox>().map_err(|_| {
            "GAPRELAY_SMTP_FROM is not an email address (alerts@example.com or \"gaprelay <alerts@example.com>\")"
                .to_owned()
        })?;
        Ok(SmtpSettings {
            host,
            port,
            security,
            credentials,
            from,
            ca_file: None,
        })
    }

    /// Also trusts the root certificates in this PEM file for the mail server (a
    /// private CA, as internal mail relays often have); the system's roots still count.
    /// The file is read when the notifier is built, at start-up.
    pub fn with_ca_file(mut self, path: PathBuf) -> SmtpSettings {
        self.ca_file = Some(path);
        self
    }

    /// The mail server's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The mail server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is protected.
    pub fn security(&self) -> Security {
        self.security
    }
}

/// Decodes `%XX` escapes (a URL's user name and password arrive encoded).
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// Reads the extra roots of `GAPRELAY_SMTP_CA_FILE`: at least one PEM certificate.
fn read_roots(path: &Path) -> anyhow::Result<Certificate> {
    let pem = std::fs::read(path)
        .with_context(|| format!("GAPRELAY_SMTP_CA_FILE: cannot read {}", path.display()))?;
    let count = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map(|certs| certs.len())
        .unwrap_or(0);
    if count == 0 {
        anyhow::bail!(
            "GAPRELAY_SMTP_CA_FILE: {} holds no PEM certificate",
            path.display()
        );
    }
    Certificate::from_pem(&pem)
        .with_context(|| format!("GAPRELAY_SMTP_CA_FILE: {} is not valid PEM", path.display()))
}

/// Emails alerts to practices through one mail server.
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpNotifier {
    /// A notifier for the configured server. Connects only when it sends.
    pub fn new(settings: &SmtpSettings) -> anyhow::Result<SmtpNotifier> {
        let tls = match settings.security {
            Security::None => None,
            Security::Tls | Security::StartTls => {
                let mut params = TlsParameters::builder(settings.host.clone());
                if let Some(path) = &settings.ca_file {
                    params = params.add_root_certificate(read_roots(path)?);
                }
                Some(
                    params
                        .build_rustls()
                        .context("cannot set up TLS for the SMTP server")?,
                )
            }
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            settings.host.clone(),
        )
        .tls(match (settings.security, tls) {
            (Security::Tls, Some(params)) => Tls::Wrapper(params),
            (Security::StartTls, Some(params)) => Tls::Required(params),
            _ => Tls::None,
        });
        let mut builder = builder.port(settings.port).timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = &settings.credentials {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(SmtpNotifier {
            transport: builder.build(),
            from: settings.from.clone(),
        })
    }
}

#[async_trait::async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, to: &str, email: &RenderedEmail) -> anyhow::Result<()> {
        let to: Mailbox = to
            .parse()
            .context("the practice's contact email is not a valid address")?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .context("cannot build the alert email")?;
        self.transport
            .send(message)
            .await
            .context("the SMTP server did not accept the alert")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SmtpSettings, String> {
        SmtpSettings::parse(url, "gaprelay <alerts@example.com>")
    }

    #[test]
    fn smtp_means_starttls_smtps_means_tls_and_plain_must_be_asked_for() {
        let s = parse("smtp://mail.example.com").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (s.host(), s.port(), s.security()),
            ("mail.example.com", 587, Security::StartTls)
        );
        let s = parse("smtps://mail.example.com").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.port(), s.security()), (465, Security::Tls));
        let s = parse("smtp://127.0.0.1:2525?tls=none").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (s.host(), s.port(), s.security()),
            ("127.0.0.1", 2525, Security::None)
        );
        let s = parse("smtp://u:p@mail.example.com:2587?tls=starttls")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.port(), s.security()), (2587, Security::StartTls));
    }

    #[test]
    fn credentials_are_decoded_and_never_shown() {
        let s = parse("smtp://alerts%40example.com:p%40ss%3Aw0rd@mail.example.com")
            .unwrap_or_else(|e| panic!("{e}"));
        let (user, password) = s
            .credentials
            .clone()
            .unwrap_or_else(|| panic!("credentials"));
        assert_eq!(user, "alerts@example.com");
        assert_eq!(password.expose(), "p@ss:w0rd");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("p@ss") && !shown.contains("w0rd"),
            "{shown}"
        );
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_stops_the_start_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap_or_else(|e| panic!("{e}"));
        for path in [empty, dir.path().join("missing.pem")] {
            let settings = parse("smtp://mail.example.com")
                .unwrap_or_else(|e| panic!("{e}"))
                .with_ca_file(path.clone());
            let err = SmtpNotifier::new(&settings)
                .err()
                .unwrap_or_else(|| panic!("{} accepted", path.display()));
            assert!(
                format!("{err:#}").contains("GAPRELAY_SMTP_CA_FILE"),
                "{err:#}"
            );
        }
    }

    #[test]
    fn bad_urls_are_refused_without_quoting_the_password() {
        for bad in [
            "http://mail.example.com",
            "smtp://",
            "smtp://u:hunter2@mail.example.com?tls=none",
            "smtp://:hunter2@mail.example.com",
            "smtp://mail.example.com?tls=maybe",
            "smtps://mail.example.com?tls=none",
            "smtp://mail.example.com/path",
            "smtp://mail.example.com?hunter2=1",
            "not a url hunter2",
        ] {
            let err = parse(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(!err.contains("hunter2"), "{bad}: {err}");
        }
        assert!(SmtpSettings::parse("smtp://mail.example.com", "not an address").is_err());
    }
}
