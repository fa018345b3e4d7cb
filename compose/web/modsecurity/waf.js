/* global ngx -- njs's global object */
// The WAF's Prometheus counter, kept in nginx's shared memory (js_shared_dict_zone waf): every
// worker adds to the same number, which lives as long as nginx (a reload keeps it; a restart
// starts it at 0, which Prometheus' rate() takes as a counter reset).

/** js_set $waf_blocked_total: counts one blocked request; its value is the new total. */
function blocked() {
  return String(ngx.shared.waf.incr('blocked', 1, 0));
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

export default { blocked, metrics };
