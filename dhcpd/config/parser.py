"""The ISC dhcpd.conf reader: `load(path)` and `parse_text(text)` give a Config or raise ConfigError.

A recursive-descent parser over the lexer's tokens. A statement that fails is recorded as a problem with
its file and line, skipped, and parsing goes on, so one run reports as many problems as it can.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Address, IPv4Network

from dhcpd.config import checks, statements as st, trunks
from dhcpd.config.catalog import OptionCatalog
from dhcpd.config.errors import ConfigError, ConfigProblem
from dhcpd.config.expressions import OptionValue, parse_expression
from dhcpd.config.lexer import Kind, Token, Tokens, UnreadableText, iter_tokens, tokenize
from dhcpd.config.model import (AddressRange, ClientClass, Conditional, Config, Group, Host, Pool, Scope,
                                SharedNetwork, Subnet, share_empty_containers)
from dhcpd.config.option_values import (BOOLEAN_WORDS, HostnameValue, parse_hex, read_address, read_integer,
                                        read_option_value, read_type_format)
from dhcpd.wire.options import DHCP_SPACE, OptionDefinition

CLIENT_IDENTIFIER = 61


def load(path: str) -> Config:
    """Read and check a dhcpd.conf file (and its includes)."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as file:
            text = file.read()
    except OSError as error:
        raise ConfigError.at(path, 0, f"cannot read the file: {error.strerror}") from None
    return parse_text(text, path)


def parse_text(text: str, filename: str = "<string>") -> Config:
    """Parse configuration text; `filename` names it in problems and anchors relative includes."""
    return _Reader(filename).read(text)


class _Reader:
    def __init__(self, filename: str) -> None:
        self.config = Config(source=filename)
        self.config.root.file = filename
        self.catalog = OptionCatalog()
        self.problems: list[ConfigProblem] = []
        self.tokens = Tokens([])
        self.scopes: list[Scope] = [self.config.root]
        self.subclass_scopes: set[int] = set()
        self.shared_pools: list[tuple[SharedNetwork, Pool]] = []
        self.included_from: dict[str, str] = {}
        self.implicit_pools: dict[int, Pool] = {}

    def read(self, text: str) -> Config:
        self.tokens = Tokens(iter_tokens(text, self.config.source))
        try:
            while self.tokens.peek().kind is not Kind.END:
                if self.tokens.at("}"):  # a '}' with no block open: report it and move past it
                    self.problem(self.tokens.next(), "'}' closes no block")
                    continue
                self.statement_or_problem(self.config.root)
        except UnreadableText as unreadable:  # the file cannot be read as tokens: that is its only problem
            raise unreadable.error from None
        self.problems += checks.place_shared_pools(self.shared_pools)
        self.problems += checks.check_subnets_and_ranges(self.config)
        self.problems += trunks.collect_trunk_vlans(self.config)[1]
        self.catalog.assemble_vendor_options(self.scopes)
        if self.problems:
            raise ConfigError(sorted(self.problems, key=lambda problem: (problem.file != self.config.source,
                                                                          problem.file, problem.line)))
        share_empty_containers(self.scopes)
        return self.config

    # -- framework ---------------------------------------------------------------------------------------

    def statement_or_problem(self, scope: Scope) -> None:
        try:
            self.statement(scope)
        except ConfigError as error:
            self.problems += error.problems
            self.tokens.skip_statement()

    def problem(self, token: Token, message: str) -> None:
        self.problems.append(ConfigProblem(token.file, token.line, message))

    def note(self, name: str) -> None:
        if name not in self.config.notes:
            self.config.notes.append(name)

    def new_scope(self, scope: Scope, token: Token) -> Scope:
        scope.file, scope.line = token.file, token.line
        self.scopes.append(scope)
        return scope

    def block(self, scope: Scope) -> None:
        opening = self.tokens.expect("{")
        while not self.tokens.at("}"):
            if self.tokens.peek().kind is Kind.END:
                raise self.tokens.error(opening, "the block opened here is never closed with '}'")
            self.statement_or_problem(scope)
        self.tokens.next()

    def kind(self, scope: Scope) -> str:
        if scope is self.config.root:
            return st.GLOBAL
        for cls, name in ((SharedNetwork, st.SHARED), (Subnet, st.SUBNET), (Pool, st.POOL), (Group, st.GROUP),
                          (Host, st.HOST), (ClientClass, st.CLASS)):
            if isinstance(scope, cls):
                return name
        return st.SUBCLASS if id(scope) in self.subclass_scopes else st.CONDITIONAL

    def statement(self, scope: Scope) -> None:
        token = self.tokens.peek()
        if token.kind is not Kind.WORD:
            raise self.tokens.error(token, f"expected a statement, found {token.describe()}")
        keyword = token.text.lower()
        allowed = st.PLACEMENT.get(keyword)
        if allowed is not None and self.kind(scope) not in allowed:
            raise self.tokens.error(token, f"{keyword} is not allowed inside a {self.kind(scope)}")
        handler = self.HANDLERS.get(keyword)
        self.tokens.next()
        if handler is not None:
            handler(self, scope, token)
        else:
            self.parameter(scope, token, keyword)

    # -- parameters --------------------------------------------------------------------------------------

    def parameter(self, scope: Scope, token: Token, keyword: str) -> None:
        tokens = self.tokens
        if keyword in st.INTEGER_PARAMS:
            scope.params[keyword] = read_integer(tokens, 32, signed=False)
        elif keyword in st.BOOLEAN_PARAMS:
            scope.params[keyword] = self.flag()
        elif keyword in st.ADDRESS_PARAMS:
            scope.params[keyword] = self.literal_address(keyword)
        elif keyword in st.TEXT_PARAMS:
            scope.params[keyword] = tokens.name(f"a value for {keyword}").text
        elif keyword in st.NOTED_STATEMENTS:
            tokens.skip_statement()
            self.note(keyword)
            return
        elif keyword in st.NOTED_WITH_VALUE:
            value = tokens.word(f"a value for {keyword}")
            if value.text.lower() not in st.NOTED_WITH_VALUE[keyword]:
                raise tokens.error(token, f"{keyword} {value.text} is not supported (DNS updates are not implemented)")
            self.note(keyword)
        else:
            raise tokens.error(token, f"{token.text} is not supported")
        tokens.expect(";")

    def flag(self) -> bool:
        token = self.tokens.word("true or false")
        if token.text.lower() not in BOOLEAN_WORDS:
            raise self.tokens.error(token, f"expected true, false, on or off, found '{token.text}'")
        return BOOLEAN_WORDS[token.text.lower()]

    def literal_address(self, what: str) -> IPv4Address:
        try:
            return read_address(self.tokens)
        except HostnameValue as hostname:
            raise self.tokens.error(hostname.token, f"{what} {hostname.token.text}: hostnames are not supported, "
                                                    "write an address") from None

    def authoritative(self, scope: Scope, token: Token) -> None:
        self.tokens.expect(";")
        scope.params["authoritative"] = True

    def not_statement(self, scope: Scope, token: Token) -> None:
        self.tokens.expect("authoritative")
        self.tokens.expect(";")
        scope.params["authoritative"] = False

    def allow_deny(self, scope: Scope, token: Token) -> None:
        verb = "allow" if token.text.lower() == "allow" else "deny"
        tokens = self.tokens
        subject = tokens.word("what to allow or deny")
        word = subject.text.lower()
        if isinstance(scope, Pool) and word in ("members", "known-clients", "unknown-clients", "all", "dynamic"):
            scope.permits.append((verb, self.permit(word)))
        elif word in st.ALLOW_DENY_PARAMS:
            scope.params[word] = verb == "allow"
        elif word in st.NOTED_ALLOW_DENY:
            self.note(f"{token.text.lower()} {word}")
        else:
            raise tokens.error(subject, f"{token.text} {subject.text} is not supported")
        tokens.expect(";")

    def permit(self, word: str) -> object:
        tokens = self.tokens
        if word == "members":
            tokens.expect("of")
            return ("members of", tokens.name("a class name").text)
        if word == "all":
            tokens.expect("clients")
            return "all clients"
        if word == "dynamic":
            tokens.expect("bootp")
            tokens.expect("clients")
            return "dynamic bootp clients"
        return word

    # -- options -----------------------------------------------------------------------------------------

    def option(self, scope: Scope, token: Token) -> None:
        tokens = self.tokens
        if tokens.accept("space"):
            self.option_space()
            return
        name = tokens.word("an option name")
        if tokens.accept("code"):
            self.option_definition(name)
            return
        definition = self.catalog.lookup(name.text)
        if definition is None:
            raise tokens.error(name, f"unknown option {name.text}")
        if tokens.accept("="):
            if definition.space != DHCP_SPACE:
                raise tokens.error(name, f"option {name.text} = expression is only supported for dhcp options")
            scope.option_expressions[definition.code] = parse_expression(tokens, self.option_reference)
            tokens.expect(";")
            return
        try:
            value = read_option_value(tokens, definition)
        except HostnameValue as hostname:
            tokens.skip_statement()
            self.note(f"{hostname.token.file} line {hostname.token.line}: option {definition.name} left out: "
                      f"{hostname.token.text} is a hostname and hostnames are not resolved")
            return
        tokens.expect(";")
        self.store_option(scope, definition, value)

    def store_option(self, scope: Scope, definition: OptionDefinition, value: bytes) -> None:
        if definition.space == DHCP_SPACE:
            scope.options[definition.code] = value
            if isinstance(scope, Host) and definition.code == CLIENT_IDENTIFIER:
                scope.client_id = value
        else:
            scope.space_options.setdefault(definition.space, {})[definition.code] = value

    def option_reference(self, name: Token) -> OptionValue:
        definition = self.catalog.lookup(name.text)
        if definition is None:
            raise self.tokens.error(name, f"unknown option {name.text}")
        return OptionValue(definition.space, definition.code, definition.name)

    def option_space(self) -> None:
        tokens = self.tokens
        name = tokens.name("an option space name")
        widths = {"code": 1, "length": 1}
        while not tokens.at(";"):
            what = tokens.word("code width, length width or hash size")
            if what.text.lower() == "hash":
                tokens.expect("size")
                read_integer(tokens, 32, signed=False)
                continue
            if what.text.lower() not in widths:
                raise tokens.error(what, f"unexpected '{what.text}' in option space declaration")
            tokens.expect("width")
            width = read_integer(tokens, 8, signed=False)
            if width not in ((1, 2, 4) if what.text.lower() == "code" else (0, 1, 2)):
                raise tokens.error(what, f"{what.text} width {width} is not possible")
            widths[what.text.lower()] = width
        tokens.expect(";")
        self.catalog.add_space(name.text, widths["code"], widths["length"])

    def option_definition(self, name: Token) -> None:
        tokens = self.tokens
        space_name, option_name = self.catalog.split(name.text)
        space = self.catalog.spaces.get(space_name)
        if space is None:
            raise tokens.error(name, f"option space {space_name} is not declared")
        code = read_integer(tokens, 32, signed=False)
        if not 0 < code < (1 << (8 * space.code_width)) - (1 if space.code_width == 1 else 0):
            raise tokens.error(name, f"option code {code} is out of range for space {space_name}")
        tokens.expect("=")
        option_format = read_type_format(tokens)
        tokens.expect(";")
        space.add(OptionDefinition(option_name, code, option_format, space_name))

    # -- declarations ------------------------------------------------------------------------------------

    def include(self, scope: Scope, token: Token) -> None:
        path_token = self.tokens.string("a file name")
        self.tokens.expect(";")
        path = self.resolve_include(path_token)
        if path is None:
            return
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as file:
                self.tokens.splice(tokenize(file.read(), path))
        except OSError as error:
            self.problem(path_token, f"cannot read {path_token.text}: {error.strerror}")
        except ConfigError as error:
            self.problems += error.problems

    def resolve_include(self, path_token: Token) -> str | None:
        """The file an include names: relative to the including file's folder, then to the working folder."""
        candidates = [path_token.text]
        if not os.path.isabs(path_token.text):
            candidates.insert(0, os.path.join(os.path.dirname(path_token.file), path_token.text))
        path = next((candidate for candidate in candidates if os.path.isfile(candidate)), None)
        if path is None:
            self.problem(path_token, f"cannot find include file {path_token.text}")
            return None
        including = path_token.file
        while including:
            if os.path.realpath(including) == os.path.realpath(path):
                self.problem(path_token, f"include {path_token.text} includes itself")
                return None
            including = self.included_from.get(including, "")
        self.included_from[path] = path_token.file
        return path

    def shared_network(self, scope: Scope, token: Token) -> None:
        name = self.tokens.name("a shared-network name")
        network = SharedNetwork(parent=scope, name=name.text)
        self.new_scope(network, token)
        self.config.shared_networks.append(network)
        self.block(network)

    def subnet(self, scope: Scope, token: Token) -> None:
        tokens = self.tokens
        address = self.literal_address("subnet")
        tokens.expect("netmask")
        mask_token = tokens.peek()
        mask = self.literal_address("netmask")
        try:
            network = IPv4Network(f"{address}/{mask}")
        except ValueError:
            raise tokens.error(mask_token, f"subnet {address} netmask {mask}: bad subnet number/mask combination") from None
        subnet = Subnet(parent=scope, network=network)
        self.new_scope(subnet, token)
        subnet.shared_network = next((outer for outer in scope.chain() if isinstance(outer, SharedNetwork)), None)
        if subnet.shared_network is not None:
            subnet.shared_network.subnets.append(subnet)
        self.config.subnets.append(subnet)
        self.block(subnet)

    def group(self, scope: Scope, token: Token) -> None:
        if not self.tokens.at("{"):
            self.tokens.name("a group name")
        group = Group(parent=scope)
        self.block(self.new_scope(group, token))

    def pool(self, scope: Scope, token: Token) -> None:
        pool = Pool(parent=scope)
        self.block(self.new_scope(pool, token))
        if not pool.ranges:
            self.problem(token, "pool declaration with no address range")
        elif isinstance(scope, Subnet):
            scope.pools.append(pool)
        else:
            self.shared_pools.append((scope, pool))  # type: ignore[arg-type]

    def range(self, scope: Scope, token: Token) -> None:
        tokens = self.tokens
        dynamic_bootp = tokens.accept("dynamic-bootp") is not None
        first = self.literal_address("range")
        last = self.literal_address("range") if not tokens.at(";") else first
        tokens.expect(";")
        if first > last:
            self.problem(token, f"range {first} {last}: the first address is after the last")
            return
        address_range = AddressRange(first, last, dynamic_bootp, token.file, token.line)
        if isinstance(scope, Pool):
            scope.ranges.append(address_range)
            return
        implicit = self.implicit_pools.get(id(scope))
        if implicit is None:
            implicit = self.implicit_pools[id(scope)] = Pool(parent=scope, file=token.file, line=token.line)
            self.scopes.append(implicit)
            scope.pools.append(implicit)  # type: ignore[attr-defined]
        implicit.ranges.append(address_range)

    def host(self, scope: Scope, token: Token) -> None:
        name = self.tokens.name("a host name")
        host = Host(parent=scope, name=name.text)
        self.block(self.new_scope(host, token))
        self.config.hosts.append(host)

    def hardware(self, host: Host, token: Token) -> None:
        tokens = self.tokens
        kind = tokens.word("a hardware type")
        if kind.text.lower() not in st.HARDWARE_TYPES:
            raise tokens.error(kind, f"hardware type {kind.text} is not supported")
        address = tokens.word("a hardware address")
        htype, length = st.HARDWARE_TYPES[kind.text.lower()]
        try:
            mac = parse_hex(tokens, address)
        except ConfigError:
            raise tokens.error(address, f"malformed hardware address {address.text}") from None
        if (length is not None and len(mac) != length) or len(mac) > 16:
            raise tokens.error(address, f"malformed hardware address {address.text}")
        tokens.expect(";")
        host.hardware, host.hardware_type = mac, htype

    def fixed_address(self, host: Host, token: Token) -> None:
        addresses = [self.literal_address("fixed-address")]
        while self.tokens.accept(","):
            addresses.append(self.literal_address("fixed-address"))
        self.tokens.expect(";")
        host.fixed_addresses.extend(addresses)

    def client_class(self, scope: Scope, token: Token) -> None:
        name = self.tokens.name("a class name")
        if any(existing.name == name.text for existing in self.config.classes):
            raise self.tokens.error(name, f"class {name.text} is already declared")
        client_class = ClientClass(parent=scope, name=name.text)
        self.new_scope(client_class, token)
        self.config.classes.append(client_class)
        self.block(client_class)

    def match(self, client_class: ClientClass, token: Token) -> None:
        client_class.match_is_key = self.tokens.accept("if") is None
        client_class.match = parse_expression(self.tokens, self.option_reference)
        self.tokens.expect(";")

    def spawn(self, client_class: ClientClass, token: Token) -> None:
        self.tokens.expect("with")
        client_class.spawn = parse_expression(self.tokens, self.option_reference)
        self.tokens.expect(";")

    def lease_limit(self, client_class: ClientClass, token: Token) -> None:
        self.tokens.expect("limit")
        client_class.lease_limit = read_integer(self.tokens, 32, signed=False)
        self.tokens.expect(";")

    def subclass(self, scope: Scope, token: Token) -> None:
        tokens = self.tokens
        class_name = tokens.name("a class name")
        value_token = tokens.name("a subclass value (quoted string or hex)")
        value = value_token.text.encode("utf-8") if value_token.kind is Kind.STRING else parse_hex(tokens, value_token)
        client_class = next((cls for cls in self.config.classes if cls.name == class_name.text), None)
        if client_class is None:
            raise tokens.error(class_name, f"subclass of undeclared class {class_name.text}")
        subclass_scope = self.new_scope(Scope(parent=client_class), token)
        self.subclass_scopes.add(id(subclass_scope))
        client_class.subclasses[value] = subclass_scope
        if tokens.at("{"):
            self.block(subclass_scope)
        else:
            tokens.expect(";")

    def conditional(self, scope: Scope, token: Token) -> None:
        chain = Conditional()
        expression = parse_expression(self.tokens, self.option_reference)
        while True:
            branch = self.new_scope(Scope(parent=scope), token)
            self.block(branch)
            chain.branches.append((expression, branch))
            if expression is None:
                break
            token = self.tokens.peek()
            if self.tokens.accept("elsif"):
                expression = parse_expression(self.tokens, self.option_reference)
            elif self.tokens.accept("else"):
                expression = parse_expression(self.tokens, self.option_reference) if self.tokens.accept("if") else None
            else:
                break
        scope.conditionals.append(chain)

    HANDLERS = {
        "include": include, "option": option, "authoritative": authoritative, "not": not_statement,
        "allow": allow_deny, "deny": allow_deny, "ignore": allow_deny,
        "shared-network": shared_network, "subnet": subnet, "group": group, "pool": pool, "range": range,
        "host": host, "hardware": hardware, "fixed-address": fixed_address,
        "class": client_class, "match": match, "spawn": spawn, "lease": lease_limit, "subclass": subclass,
        "if": conditional, "trunk": trunks.parse_trunk,
    }
