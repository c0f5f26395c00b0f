"""Drives Debian's pywinrm (0.3.0) against the WinRM test peer, as an independent client.

Run with /usr/bin/python3 (the system Python that has python3-winrm). Reads one JSON object on
stdin: connection settings and a list of steps; runs the steps in order on one pywinrm Session (so
its HTTP connection and NTLM context are reused, as in real use) and prints one JSON object:
{"results": [...]}, one result per step. A step that raises gives {"ok": false, "error": <class>,
"message": ..., "code": ...} and the next steps still run. Bytes travel as base64.
"""
import base64
import json
import os
import sys
import uuid

# Before anything imports hashlib: ntlm-auth needs MD4 from OpenSSL 3's legacy provider.
os.environ.setdefault('OPENSSL_CONF', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'openssl-legacy.cnf'))

import xmltodict  # noqa: E402
import winrm  # noqa: E402

CMD_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd'
SEND_ACTION = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send'


def b64(data):
    return base64.b64encode(data or b'').decode('ascii')


def send_stdin(protocol, shell_id, command_id, data, end):
    """A Send as pywinrm 0.4's send_command_input builds it (0.3 has no Send of its own)."""
    req = {'env:Envelope': protocol._get_soap_header(
        resource_uri=CMD_URI, action=SEND_ACTION, shell_id=shell_id)}
    stream = req['env:Envelope'].setdefault('env:Body', {}).setdefault(
        'rsp:Send', {}).setdefault('rsp:Stream', {})
    stream['@Name'] = 'stdin'
    stream['@CommandId'] = command_id
    stream['#text'] = b64(data)
    if end:
        stream['@End'] = 'true'
    protocol.send_message(xmltodict.unparse(req))


def run_step(session, step):
    protocol = session.protocol
    op = step['op']
    if op == 'run_cmd':
        r = session.run_cmd(step['command'], step.get('args', []))
        return {'stdout': b64(r.std_out), 'stderr': b64(r.std_err), 'status': r.status_code}
    if op == 'run_ps':
        r = session.run_ps(step['script'])
        return {'stdout': b64(r.std_out), 'stderr': b64(r.std_err), 'status': r.status_code}
    if op == 'protocol':
        # The lower-level API end to end: open_shell, run_command, (Send), the Receive loop, cleanup.
        shell_id = protocol.open_shell(**step.get('shell', {}))
        command_id = protocol.run_command(shell_id, step['command'], step.get('args', []))
        if 'stdin' in step:
            data = base64.b64decode(step['stdin'])
            half = len(data) // 2
            send_stdin(protocol, shell_id, command_id, data[:half], False)
            send_stdin(protocol, shell_id, command_id, data[half:], True)
        out, err, status = protocol.get_command_output(shell_id, command_id)
        protocol.cleanup_command(shell_id, command_id)
        protocol.close_shell(shell_id)
        return {'stdout': b64(out), 'stderr': b64(err), 'status': status,
                'shell_id': shell_id, 'command_id': command_id}
    if op == 'open_shell':
        return {'shell_id': protocol.open_shell(**step.get('shell', {}))}
    if op == 'close_shell':
        protocol.close_shell(step['shell_id'])
        return {}
    if op == 'run_command':
        return {'command_id': protocol.run_command(step['shell_id'], step['command'], step.get('args', []))}
    if op == 'receive_once':
        out, err, status, done = protocol._raw_get_command_output(step['shell_id'], step['command_id'])
        return {'stdout': b64(out), 'stderr': b64(err), 'status': status, 'done': done}
    if op == 'signal':
        protocol.cleanup_command(step['shell_id'], step['command_id'])
        return {}
    if op == 'raw':
        # Whatever text the test wants, through pywinrm's transport (encryption included).
        return {'response': protocol.send_message(step['message']).decode('utf-8', 'replace')}
    if op == 'new_uuid':
        return {'uuid': str(uuid.uuid4())}
    raise ValueError('unknown step %r' % op)


def main():
    spec = json.load(sys.stdin)
    if spec.get('server_cert_validation', 'ignore') == 'ignore':
        # pywinrm 0.3 lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE switch validation back on (requests'
        # merge_environment_settings in build_session), whatever server_cert_validation says.
        os.environ.pop('REQUESTS_CA_BUNDLE', None)
        os.environ.pop('CURL_CA_BUNDLE', None)
    kwargs = {
        'transport': spec['transport'],
        'server_cert_validation': spec.get('server_cert_validation', 'ignore'),
        'operation_timeout_sec': spec.get('operation_timeout_sec', 20),
        'read_timeout_sec': spec.get('read_timeout_sec', 30),
    }
    if 'ca_trust_path' in spec:
        kwargs['ca_trust_path'] = spec['ca_trust_path']
    if 'message_encryption' in spec:
        kwargs['message_encryption'] = spec['message_encryption']
    results = []
    try:
        session = winrm.Session(spec['url'], auth=(spec['username'], spec['password']), **kwargs)
    except Exception as e:  # noqa: BLE001 - reported to the test, which asserts on it
        print(json.dumps({'results': [failure(e)]}))
        return
    for step in spec['steps']:
        try:
            result = run_step(session, step)
            result['ok'] = True
        except Exception as e:  # noqa: BLE001
            result = failure(e)
        results.append(result)
    print(json.dumps({'results': results}))


def failure(e):
    code = getattr(e, 'code', None)
    return {'ok': False, 'error': type(e).__name__, 'message': str(e),
            'code': code if isinstance(code, (int, str)) else None}


if __name__ == '__main__':
    main()
