import ExportDomain

extension NationalReport {
    /// `midsize_tracks` of `report.json`: per group its figures and its firms by id
    /// (docs/EVALUATION.md, "Tailored mid-sized tracks").
    func midsizeTracksJSON(_ w: inout JSONWriter) {
        let t = midsizeTracks
        w.object { w in
            w.key("large")
            w.object { w in
                w.field("firms", t.large.count)
                w.field("leading_consortia", t.largeLeading)
                w.field("leading_from_outside_the_pool", t.large.filter { $0.consortium != nil && !$0.inPool }.count)
                w.key("leading_none_by_reason")
                w.object { w in
                    for (reason, n) in t.largeReasons { w.field(reason.rawValue, n) }
                }
                w.key("list")
                w.array { w in
                    for l in t.large {
                        w.object { w in
                            midsizeFirmFields(&w, l.entry)
                            w.field("in_pool", l.inPool)
                            w.key("consortium_id")
                            if let k = l.consortium { w.string(k.id) } else { w.null() }
                            w.key("target_market")
                            if let k = l.consortium { w.string(marketCode(k.targetMarket)) } else { w.null() }
                            w.key("target_emerging")
                            if let k = l.consortium { w.bool(targetsEmerging(k)) } else { w.null() }
                            w.key("members")
                            if let k = l.consortium { w.int(k.members.count) } else { w.null() }
                            w.key("reason")
                            if let r = l.reason { w.string(r.rawValue) } else { w.null() }
                            w.key("detail")
                            if l.reason != nil { w.string(l.detail) } else { w.null() }
                        }
                    }
                }
            }
            w.key("export_oriented")
            w.object { w in
                let known = t.exportOriented.reduce(Int64(0)) { $0 + $1.marketExportUSDk }
                let emerging = t.exportOriented.reduce(Int64(0)) { $0 + $1.emergingExportUSDk }
                let targets = t.exportOriented.flatMap(\.markets)
                w.field("firms", t.exportOriented.count)
                w.field("with_emerging_target", t.exportOrientedWithTarget)
                w.field("targets", targets.count)
                w.field("targets_gate_not_held", targets.filter { $0.gate != nil && !$0.gateHeld }.count)
                w.field("market_export_usd_k", known)
                w.field("emerging_export_usd_k", emerging)
                w.decimalField("emerging_share", Decimal.ratio(emerging, known, places: 4))
                w.key("list")
                w.array { w in
                    for e in t.exportOriented {
                        w.object { w in
                            midsizeFirmFields(&w, e)
                            w.field("market_export_usd_k", e.marketExportUSDk)
                            w.field("emerging_export_usd_k", e.emergingExportUSDk)
                            w.key("emerging_share")
                            if e.marketExportUSDk > 0 {
                                w.number(Decimal.ratio(e.emergingExportUSDk, e.marketExportUSDk, places: 4))
                            } else {
                                w.null()
                            }
                            w.key("targets")
                            w.array { w in
                                for m in e.markets {
                                    w.object { w in
                                        w.field("market", marketCode(m.market))
                                        w.field("potential_usd_k", m.potentialUSDk)
                                        w.field("untapped_usd_k", m.untappedUSDk)
                                        gateFields(&w, m)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            w.key("domestic_oriented")
            w.object { w in
                let markets = t.domesticOriented.flatMap(\.markets)
                w.field("firms", t.domesticOriented.count)
                w.field("with_first_export_market", t.domesticWithMarket)
                w.field("with_covering_desk", t.domesticWithDesk)
                w.field("markets", markets.count)
                w.field("markets_without_desk", markets.filter(\.desks.isEmpty).count)
                w.field("markets_gate_not_held", markets.filter { $0.pick.gate != nil && !$0.pick.gateHeld }.count)
                w.field("desks_per_market", MidsizeTracks.desksPerMarket)
                w.key("list")
                w.array { w in
                    for d in t.domesticOriented {
                        w.object { w in
                            midsizeFirmFields(&w, d.entry)
                            w.key("markets")
                            w.array { w in
                                for m in d.markets {
                                    w.object { w in
                                        w.field("market", marketCode(m.pick.market))
                                        w.field("potential_usd_k", m.pick.potentialUSDk)
                                        gateFields(&w, m.pick)
                                        w.key("desks")
                                        w.array { w in
                                            for desk in m.desks {
                                                w.object { w in
                                                    w.field("company_id", desk.company)
                                                    w.decimalField(
                                                        "success_rate", Permille.decimal(desk.successRatePermille))
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func midsizeFirmFields(_ w: inout JSONWriter, _ e: MidsizeEntry) {
        w.field("firm_id", e.firm.description)
        w.field("region", e.region.rawValue)
        w.field("industry", e.industry.rawValue)
        w.field("revenue_krw_m", e.revenueKRWm)
        w.field("export_usd_k", e.exportUSDk)
    }

    private func gateFields(_ w: inout JSONWriter, _ m: MarketPick) {
        w.key("entry_gate")
        if let g = m.gate { w.string(g.rawValue) } else { w.null() }
        w.field("gate_held", m.gateHeld)
    }
}
