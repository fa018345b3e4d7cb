/* global ngx -- njs's global object */
// The WAF's Prometheus counter, kept in nginx's shared memory (js_shared_dict_zone waf): every
// worker adds to the same number, which lives as long as nginx (a reload keeps it; a restart
// starts it at 0, which Prometheus' rate() takes as a counter reset).

/** js_set $waf_blocked_total: counts one blocked request; its value is the new total. */
function blocked() {
  return String(ngx.shared.waf.incr('blocked', 1, 0));
}

/** The WAF's own 403: $waf_blocked (00-waf.conf), the one definition the ECS log line uses too. */
function isWafAnswer(r) {
  return r.variables.waf_blocked === '1';
}

/** js_header_filter: a blocked request's answer is JSON, never cached, and names its request id. */
function blockedHeaders(r) {
  if (!isWafAnswer(r)) return;
  r.headersOut['Content-Type'] = 'application/json';
  r.headersOut['Cache-Control'] = 'no-store';
  r.headersOut['X-Request-Id'] = r.variables.waf_request_id;
  delete r.headersOut['Content-Length'];
}

/** js_body_filter: nginx's HTML error page becomes the API's error shape; other bodies pass as they are. */
function blockedBody(r, data, flags) {
  if (!isWafAnswer(r)) {
    r.sendBuffer(data, flags);
    return;
  }
  if (!flags.last) return;
  const error = {
    code: 'waf_blocked',
    message: 'the request was refused by the web application firewall; quote its request id to support',
    requestId: r.variables.waf_request_id,
  };
  r.sendBuffer(JSON.stringify({ error }) + '\n', flags);
}

/** GET /metrics on the waf-metrics server: the counter in Prometheus' text format. */
function metrics(r) {
  const total = ngx.shared.waf.get('blocked') || 0;
  r.headersOut['Content-Type'] = 'text/plain; version=0.0.4; charset=utf-8';
  r.return(
    200,
    '# HELP refereezy_waf_blocked_requests_total Requests the web application firewall (ModSecurity + OWASP CRS) refused with 403\n' +
      '# TYPE refereezy_waf_blocked_requests_total counter\n' +
      `refereezy_waf_blocked_requests_total ${total}\n`,
  );
}

export default { blocked, blockedHeaders, blockedBody, metrics };
