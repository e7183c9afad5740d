"""ru-llm-core: plugin manager, registries, conversation schema, JSONL I/O, errors, model families.

Importing it is cheap (pluggy and the standard library only).
"""

from ru_llm.core.conversation import ROLE_ALIASES, ROLES, Conversation, Message, canonical_role, conversation
from ru_llm.core.errors import (
    ConfigError,
    PluginError,
    RecordError,
    RuLLMError,
    UnknownNameError,
)
from ru_llm.core.families import ModelFamily, get_model_family, model_families, model_family_for
from ru_llm.core.jsonl import (
    JsonlReader,
    JsonlWriter,
    Reject,
    RejectsWriter,
    atomic_open,
    read_conversations,
    read_jsonl,
    write_jsonl,
)
from ru_llm.core.plugins import add_package, get_plugin_manager, hookimpl, hookspec, registry
from ru_llm.core.registry import Registry

add_package("ru-llm-core", hookspecs="ru_llm.core.hookspecs", builtins=("ru_llm.core.builtin_families",))

__all__ = [
    "ROLES",
    "ROLE_ALIASES",
    "ConfigError",
    "Conversation",
    "JsonlReader",
    "JsonlWriter",
    "Message",
    "ModelFamily",
    "PluginError",
    "RecordError",
    "Registry",
    "Reject",
    "RejectsWriter",
    "RuLLMError",
    "UnknownNameError",
    "add_package",
    "atomic_open",
    "canonical_role",
    "conversation",
    "get_model_family",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "model_families",
    "model_family_for",
    "read_conversations",
    "read_jsonl",
    "registry",
    "write_jsonl",
]
