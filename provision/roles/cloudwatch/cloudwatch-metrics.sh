#!/bin/bash
# cloudwatch-metrics: the host's disk and memory use, as the CloudWatch agent would report them
# (namespace CWAgent; disk_used_percent with the dimensions InstanceId and path, mem_used_percent
# with InstanceId), sent with Debian's awscli. The CloudWatch agent is not a Debian package; the
# Terraform alarms (terraform/modules/alerting, "disk") read exactly these names and dimensions.
# Installed by the provisioning role cloudwatch (provision/roles/cloudwatch), run every minute by
# its timer; settings in /etc/refereezy/cloudwatch-metrics.env. Credentials: the instance role's
# (awscli finds them through the instance metadata service) unless that file names a key.
set -euo pipefail
settings=${CLOUDWATCH_METRICS_ENV:-/etc/refereezy/cloudwatch-metrics.env}
# Exported: awscli reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when the file names a key.
set -a
# shellcheck source=/dev/null
. "$settings"
set +a
: "${CW_REGION:?CW_REGION is not set in $settings}"
namespace=${CW_NAMESPACE:-CWAgent}
read -r -a paths <<<"${CW_PATHS:-/}"

fail() {
  echo "cloudwatch-metrics: $*" >&2
  exit 1
}

# The instance's id: from the settings (a lab), else from IMDSv2 (a session token first: IMDSv1 is off).
instance_id=${CW_INSTANCE_ID:-}
if [ -z "$instance_id" ]; then
  instance_id=$(python3 - <<'PY'
import urllib.request
base = "http://169.254.169.254/latest"
token = urllib.request.urlopen(urllib.request.Request(f"{base}/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=2).read().decode()
print(urllib.request.urlopen(urllib.request.Request(f"{base}/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}), timeout=2).read().decode())
PY
  ) || fail "cannot read the instance id from the instance metadata service (169.254.169.254), and CW_INSTANCE_ID is not set"
fi
[[ $instance_id =~ ^[A-Za-z0-9_.-]+$ ]] || fail "instance id ${instance_id@Q} is not one"

# Used / (used + available), as df's Use% and the agent's disk_used_percent count it (the blocks
# reserved for root are not available to others).
datum() { printf '{"MetricName":"%s","Unit":"Percent","Value":%s,"Dimensions":[%s]}' "$1" "$2" "$3"; }
instance_dimension=$(printf '{"Name":"InstanceId","Value":"%s"}' "$instance_id")
data=()
for path in "${paths[@]}"; do
  read -r used available < <(df --output=used,avail -B1 -- "$path" | tail -n 1) || fail "df $path failed"
  value=$(awk -v u="$used" -v a="$available" 'BEGIN { printf "%.2f", ((u + a) > 0 ? 100 * u / (u + a) : 0) }')
  data+=("$(datum disk_used_percent "$value" "$instance_dimension,$(printf '{"Name":"path","Value":"%s"}' "$path")")")
done
# (MemTotal - MemAvailable) / MemTotal: the agent's mem_used_percent.
value=$(awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { printf "%.2f", (t > 0 ? 100 * (t - a) / t : 0) }' /proc/meminfo)
data+=("$(datum mem_used_percent "$value" "$instance_dimension")")

json="[$(IFS=,; echo "${data[*]}")]"
endpoint=()
[ -z "${CW_ENDPOINT_URL:-}" ] || endpoint=(--endpoint-url "$CW_ENDPOINT_URL")
aws cloudwatch put-metric-data --region "$CW_REGION" "${endpoint[@]}" --namespace "$namespace" --metric-data "$json" \
  || fail "put-metric-data to CloudWatch (${CW_ENDPOINT_URL:-region $CW_REGION}) failed"
echo "cloudwatch-metrics: sent $json to $namespace"
