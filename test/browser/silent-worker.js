// A SharedWorker that accepts connections and never answers (the client's
// timeout must end every wait).
self.onconnect = (e) => e.ports[0].start();
