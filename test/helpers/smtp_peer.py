"""A real SMTP server for rmm's tests: Debian's python3-aiosmtpd on a loopback port.

argv: folder port mode user password. mode 'starttls' offers STARTTLS (cert.pem and key.pem in the
folder) and requires it before AUTH and mail; mode 'plain' offers no TLS at all. AUTH PLAIN and
LOGIN accept the one user. Each message received is written to the folder as N.eml, with N.json: what Python's email
parser reads in it. A file named
'reply' in the folder, when present, is the answer to the next DATA instead of a 250 (then removed).
Prints 'READY' once listening, and runs until killed.
"""
import json
import os
import ssl
import sys
import time

from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

folder, port, mode, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


class Handler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        override = os.path.join(folder, 'reply')
        if os.path.exists(override):
            with open(override) as f:
                answer = f.read().strip()
            os.remove(override)
            return answer
        self.count += 1
        name = os.path.join(folder, '%d.eml' % self.count)
        with open(name + '.tmp', 'wb') as f:
            f.write(envelope.original_content or envelope.content)
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        body = parsed.get_body(preferencelist=('plain',))
        summary = {
            'mailFrom': envelope.mail_from,
            'rcptTos': envelope.rcpt_tos,
            'subject': str(parsed['subject']),
            'messageId': str(parsed['message-id']),
            'from': str(parsed['from']),
            'to': str(parsed['to']),
            'autoSubmitted': str(parsed['auto-submitted']),
            'text': body.get_content() if body is not None else None,
            'tls': session.ssl is not None,
            'authenticated': session.authenticated,
        }
        with open(name[:-4] + '.json', 'w') as f:
            json.dump(summary, f)
        os.rename(name + '.tmp', name)
        return '250 2.0.0 Ok: queued as %d' % self.count


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


kwargs = dict(authenticator=authenticator, auth_require_tls=(mode == 'starttls'), auth_required=True)
if mode == 'starttls':
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.path.join(folder, 'cert.pem'), os.path.join(folder, 'key.pem'))
    kwargs.update(tls_context=context, require_starttls=True)

controller = Controller(Handler(), hostname='127.0.0.1', port=port, server_hostname='rmm-test-smtp', **kwargs)
controller.start()
print('READY', flush=True)
while True:
    time.sleep(3600)
