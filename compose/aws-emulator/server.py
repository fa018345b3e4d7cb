# moto's server (as `moto_server` runs it), plus one read-only endpoint moto does not have:
# GET /moto-api/sns/sms-messages lists every SMS published to a phone number, per account and
# region, from moto's SNS backend itself (moto keeps them in memory and never sends them). The tests
# read what the notifier published there, as an operator would read the SMS on the phone.
import json
import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sns.models import sns_backends
from werkzeug.serving import run_simple

SMS_PATH = "/moto-api/sns/sms-messages"


def sms_messages():
    messages = []
    for account_id, regions in sns_backends.items():
        for region, backend in regions.items():
            for message_id, (phone_number, message) in backend.sms_messages.items():
                messages.append({"accountId": account_id, "region": region, "messageId": message_id, "phoneNumber": phone_number, "message": message})
    return messages


def with_sms_endpoint(app):
    def application(environ, start_response):
        if environ.get("PATH_INFO") == SMS_PATH and environ.get("REQUEST_METHOD") == "GET":
            body = json.dumps({"messages": sms_messages()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return application


def main():
    port = int(os.environ.get("MOTO_PORT", "5000"))
    os.environ["MOTO_PORT"] = str(port)
    # docker stop sends SIGTERM: exit at once (werkzeug would otherwise wait for the grace period).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple("0.0.0.0", port, with_sms_endpoint(DomainDispatcherApplication(create_backend_app)), threaded=True)


if __name__ == "__main__":
    main()
