vcl 4.1;
# The CDN edge: caches the web app's static files, passes API calls through untouched.

import std;

backend lb {
  .host = "lb";
  .port = "80";
  .connect_timeout = 2s;
  .first_byte_timeout = 30s;
  .probe = {
    .url = "/lb-healthz";
    .interval = 2s;
    .timeout = 1s;
    .window = 3;
    .threshold = 2;
  }
}

# The assets bucket (CloudFront's /assets/* origin in production), read through its read-only
# front (compose/assets-origin, on the `assets` network). npm run assets publishes it.
backend assets {
  .host = "assets-origin";
  .port = "8080";
  .connect_timeout = 2s;
  .first_byte_timeout = 10s;
}

sub vcl_recv {
  if (req.url == "/cdn-healthz") {
    return (synth(200, "OK"));
  }
  if (req.url ~ "^/assets/") {
    set req.backend_hint = assets;
  }
  # The API is dynamic and per user: never cached, never changed on the way.
  if (req.url ~ "^/api/") {
    return (pass);
  }
  if (req.method != "GET" && req.method != "HEAD") {
    return (pass);
  }
  # Static content is the same for everyone: cookies would only split the cache.
  unset req.http.Cookie;
  unset req.http.Authorization;
  return (hash);
}

sub vcl_backend_fetch {
  # The retry of an asset the bucket lacks (below) goes to the web servers.
  if (bereq.retries > 0 && bereq.url ~ "^/assets/") {
    set bereq.backend = lb;
  }
}

sub vcl_backend_response {
  # Not in the bucket (a replica whose assets are not published yet): once, from the web servers,
  # which ship the same files. Reads only: what the front refuses (writes) is answered as it is.
  if (bereq.backend == assets && beresp.status == 404 && bereq.retries == 0 && (bereq.method == "GET" || bereq.method == "HEAD")) {
    return (retry);
  }
  if (bereq.url ~ "^/api/") {
    return (deliver);
  }
  # From the bucket, the object's own Cache-Control rules (as CloudFront honours it).
  if (bereq.url ~ "^/assets/" && beresp.status == 200 && bereq.backend != assets) {
    set beresp.ttl = 1d;
  }
  # Errors are kept briefly so a failing origin is not hammered, but recovers quickly.
  if (beresp.status >= 500) {
    set beresp.ttl = 1s;
    set beresp.uncacheable = true;
  }
  unset beresp.http.Set-Cookie;
}

sub vcl_deliver {
  if (req.url ~ "^/api/") {
    set resp.http.X-Cache = "PASS";
  } elsif (obj.hits > 0) {
    set resp.http.X-Cache = "HIT";
  } else {
    set resp.http.X-Cache = "MISS";
  }
  unset resp.http.Via;
  unset resp.http.X-Varnish;
}
