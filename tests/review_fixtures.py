"""A small diagram with one icon nobody maps, for the pull-request review tests."""

from __future__ import annotations

ICON = "image;aspect=fixed;html=1;points=[];image=img/lib/azure2/{path};"


def cell(cid: str, label: str, path: str, x: int) -> str:
    style = ICON.format(path=path)
    return (
        f'<mxCell id="{cid}" value="{label}" style="{style}" vertex="1" parent="1">'
        f'<mxGeometry x="{x}" y="100" width="64" height="64" as="geometry"/></mxCell>'
    )


def edge(eid: str, source: str, target: str, label: str = "") -> str:
    return (
        f'<mxCell id="{eid}" value="{label}" style="endArrow=classic;" edge="1" parent="1" '
        f'source="{source}" target="{target}"><mxGeometry relative="1" as="geometry"/></mxCell>'
    )


def diagram(*, with_vault: bool = True, widget_label: str = "Widget API") -> bytes:
    """App Service → unknown widget → Key Vault (the vault optional, to model a push)."""
    cells = [
        cell("app", "App Service web-shop", "app_services/App_Services.svg", 40),
        cell("widget", widget_label, "other/Contoso_Widget_Engine.svg", 240),
        edge("e1", "app", "widget", "HTTPS 443"),
    ]
    if with_vault:
        cells += [
            cell("kv", "Key Vault kv-shop", "security/Key_Vaults.svg", 440),
            edge("e2", "app", "kv", "HTTPS"),
        ]
    body = "".join(cells)
    return (
        '<mxfile host="test"><diagram id="p1" name="Page-1"><mxGraphModel><root>'
        '<mxCell id="0"/><mxCell id="1" parent="0"/>'
        + body
        + "</root></mxGraphModel></diagram></mxfile>"
    ).encode("utf-8")
