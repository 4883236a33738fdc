//! Where connections come from: plain TCP, or HTTPS with a certificate and key given or
//! obtained by ACME for a public domain.
//! Phones need HTTPS for the camera and for a service worker (a LAN address over plain
//! HTTP is not a secure context); a laptop on `localhost` does not.
//!
//! TLS handshakes run off the accept path: one task accepts TCP connections and spawns a
//! handshake for each (bounded in time), so a slow or silent client cannot hold up every
//! other phone; [`Listener::accept`] only picks up finished handshakes.

use crate::messages::{Lang, cli as say};
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// Where the server's certificate comes from.
#[derive(Clone)]
pub enum Certificates {
    /// Files given (`--tls-cert`, `--tls-key`), e.g. from the county's IT or certbot.
    Given(Arc<ServerConfig>),
    /// Obtained and renewed by ACME (Let's Encrypt) for a public domain, by TLS-ALPN-01 on
    /// this very port (which must be the public 443): a challenge connection gets the
    /// challenge's configuration, every other one the obtained certificate.
    Acme { default: Arc<ServerConfig>, challenge: Arc<ServerConfig> },
}

impl Certificates {
    /// The configuration for a connection that says `hello`; whether it is an ACME challenge.
    fn for_hello(&self, hello: &rustls::server::ClientHello<'_>) -> (Arc<ServerConfig>, bool) {
        match self {
            Certificates::Given(config) => (config.clone(), false),
            Certificates::Acme { challenge, .. } if rustls_acme::is_tls_alpn_challenge(hello) => {
                (challenge.clone(), true)
            }
            Certificates::Acme { default, .. } => (default.clone(), false),
        }
    }
}

/// What `--acme-domain` and its companions say.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    pub domains: Vec<String>,
    /// `mailto:` addresses the CA may write to about the certificate.
    pub contact: Vec<String>,
    /// Where the account key and certificates are kept across restarts: without it every
    /// start asks again, and Let's Encrypt limits how often.
    pub cache: std::path::PathBuf,
    /// The CA's ACME directory URL.
    pub directory: String,
    /// Roots to trust for the CA's own HTTPS (a private CA); default the Web PKI's.
    pub ca_roots: Option<std::path::PathBuf>,
}

/// Let's Encrypt's directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// Starts obtaining (and then renewing) a certificate by ACME; the configurations to
/// serve with meanwhile. Until the first certificate arrives, handshakes fail (there is
/// nothing to show), and the log says how obtaining it goes.
pub fn acme(settings: &AcmeSettings) -> Result<Certificates, TlsError> {
    use futures_util::StreamExt;
    let mut config = rustls_acme::AcmeConfig::new(&settings.domains)
        .contact(settings.contact.iter().map(|c| if c.contains(':') { c.clone() } else { format!("mailto:{c}") }))
        .directory(&settings.directory);
    if let Some(path) = &settings.ca_roots {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path)
            .map_err(|source| TlsError::Certificate { path: path.display().to_string(), source })?
        {
            let cert = cert.map_err(|source| TlsError::Certificate { path: path.display().to_string(), source })?;
            roots.add(cert)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config = config.client_tls_config(Arc::new(client));
    }
    let mut state = config.cache(rustls_acme::caches::DirCache::new(settings.cache.clone())).state();
    let challenge = state.challenge_rustls_config();
    let mut default = (*state.default_rustls_config()).clone();
    default.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio::spawn(async move {
        while let Some(event) = state.next().await {
            match event {
                Ok(ok) => tracing::info!(event = ?ok, "ACME certificate"),
                Err(e) => tracing::warn!(error = %e, "ACME: could not obtain a certificate yet; will retry"),
            }
        }
    });
    Ok(Certificates::Acme { default: Arc::new(default), challenge })
}

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the server to take them.
const READY_QUEUE: usize = 256;

/// Why a certificate and key could not be used; names the file. Met at start-up only, so
/// it speaks the command's language (`crate::messages::cli`).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}", say::certificate_unreadable(path, Lang::current()))]
    Certificate { path: String, source: rustls::pki_types::pem::Error },
    #[error("{}", say::no_certificate(.0, Lang::current()))]
    NoCertificate(String),
    #[error("{}", say::key_unreadable(path, Lang::current()))]
    Key { path: String, source: rustls::pki_types::pem::Error },
    #[error("{words}: {0}", words = say::tls_config(Lang::current()))]
    Config(#[from] rustls::Error),
}

/// The server's TLS configuration from PEM files: the certificate chain (leaf first) and
/// its private key.
pub fn given(cert: &Path, key: &Path) -> Result<Certificates, TlsError> {
    let named = |p: &Path| p.display().to_string();
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Certificate { path: named(cert), source })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(named(cert)));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Key { path: named(key), source })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Certificates::Given(Arc::new(config)))
}

/// A bound socket, plain or with TLS.
pub enum Listener {
    Tcp(TcpListener),
    Tls(TlsListener),
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Listener::Tcp(l)
    }
}

impl Listener {
    /// `https` or `http`: what links to this server start with.
    pub fn scheme(&self) -> &'static str {
        match self {
            Listener::Tcp(_) => "http",
            Listener::Tls(_) => "https",
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr(),
            Listener::Tls(l) => Ok(l.local),
        }
    }
}

/// Accepts TLS connections on a TCP socket (see the module's doc).
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp`; stops when this listener is dropped.
    pub fn new(tcp: TcpListener, certificates: Certificates) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, most often: wait rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let (certificates, tx) = (certificates.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(stream, &certificates)).await {
                        Ok(Ok(Some(tls))) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        // An ACME challenge, answered by the handshake itself.
                        Ok(Ok(None)) => {}
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

/// Reads the client's hello, picks the configuration for it and completes the handshake:
/// the stream to serve, or `None` for an ACME challenge (done once the handshake is).
async fn handshake(stream: TcpStream, certificates: &Certificates) -> std::io::Result<Option<TlsStream<TcpStream>>> {
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
    let (config, challenge) = certificates.for_hello(&start.client_hello());
    let mut tls = start.into_stream(config).await?;
    if challenge {
        use tokio::io::AsyncWriteExt;
        let _ = tls.shutdown().await;
        return Ok(None);
    }
    Ok(Some(tls))
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task ends only when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// The address a request came from, whichever listener took it: what sign-in limits count
/// by. (axum gives `SocketAddr` itself only for a plain `TcpListener`.)
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}
