// The real cache worker, made to crash: connections are registered with it
// (so its crash handler knows them) but never answered, and an uncaught
// error is thrown shortly after the first connection.
import './dist/shared-worker.js';

const serve = self.onconnect;
self.onconnect = (e) => {
  serve(e);
  e.ports[0].onmessage = () => {};
  setTimeout(() => {
    throw new Error('boom');
  }, 200);
};
