//! The tasks that follow what other instances sharing the databases announce (revocations,
//! destroyed keys), owned by the application so that they end with it.

/// A task following what other instances announce, stopped when this is dropped (with the
/// application that owns it).
pub(crate) struct Following(tokio::task::JoinHandle<()>);

impl Following {
    pub(crate) fn start(following: impl Future<Output = ()> + Send + 'static) -> Following {
        Following(tokio::spawn(following))
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.0.abort();
    }
}
