"""Reads template.yaml and resolves the intrinsic functions the local stack needs.

This is not a CloudFormation engine: it resolves ``Ref``, ``Fn::Sub``, ``Fn::GetAtt``, ``Fn::FindInMap``,
``Fn::Select``, ``Fn::Split``, ``Fn::Join``, ``Fn::If`` and conditions against parameters, pseudo parameters and the
physical ids the local stack gives each resource, which is what the template uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

ACCOUNT_ID = "123456789012"
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


class TemplateError(Exception):
    """The template uses something the local stack cannot resolve."""


@dataclass
class Template:
    path: Path
    body: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path) -> Template:
        return cls(path=path, body=_plain(cfn_yaml.load(str(path))))

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.body.get("Resources", {})
        return resources

    def resources_of_type(self, *types: str) -> dict[str, Mapping[str, Any]]:
        return {name: spec for name, spec in self.resources.items() if spec.get("Type") in types}

    def parameter_defaults(self) -> dict[str, str]:
        return {
            name: str(spec["Default"]) for name, spec in self.body.get("Parameters", {}).items() if "Default" in spec
        }

    def function_globals(self) -> Mapping[str, Any]:
        function: Mapping[str, Any] = self.body.get("Globals", {}).get("Function", {})
        return function


@dataclass
class Resolver:
    """Resolves intrinsic functions with the given parameters and physical resource values."""

    template: Template
    parameters: Mapping[str, str]
    region: str
    stack_name: str
    stack_id: str
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> value of Ref
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attribute) -> value
    lazy_refs: dict[str, Callable[[], str]] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> str:
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.lazy_refs:
            return self.lazy_refs[name]()
        raise TemplateError(f"Ref {name!r} has no local value")

    def get_att(self, name: str, attribute: str) -> str:
        try:
            return self.attributes[(name, attribute)]
        except KeyError:
            raise TemplateError(f"Fn::GetAtt {name}.{attribute} has no local value") from None

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.body.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text)


def _get_att(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, str):
        logical, attribute = argument.split(".", 1)
    else:
        logical, attribute = argument
    return resolver.get_att(logical, attribute)


def _if(resolver: Resolver, argument: Any) -> Any:
    name, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(name) else when_false)


_INTRINSICS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::Sub": lambda r, a: r.sub(a),
    "Fn::GetAtt": _get_att,
    "Fn::FindInMap": lambda r, a: r.template.body["Mappings"][r.resolve(a[0])][r.resolve(a[1])][r.resolve(a[2])],
    "Fn::Select": lambda r, a: r.resolve(a[1])[int(r.resolve(a[0]))],
    "Fn::Split": lambda r, a: str(r.resolve(a[1])).split(a[0]),
    "Fn::Join": lambda r, a: a[0].join(str(item) for item in r.resolve(a[1])),
    "Fn::If": _if,
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(item) for item in a),
    "Fn::Or": lambda r, a: any(r.resolve(item) for item in a),
    "Condition": lambda r, a: r.condition(a),
}


def _plain(node: Any) -> Any:
    """cfn-lint's nodes as plain dicts, lists and strings."""
    if isinstance(node, Mapping):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, str):
        return str(node)
    return node
