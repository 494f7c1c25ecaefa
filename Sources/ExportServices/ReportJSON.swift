import ExportData
import ExportDomain

extension NationalReport {
    /// `report.json` (README.md, "The report"): keys in a fixed order, numbers as
    /// plain decimals, lists sorted by ids.
    public func json() -> [UInt8] {
        var w = JSONWriter()
        let c = configuration
        w.object { w in
            w.field("run_id", runID)
            w.field("dataset_digest", input.digest)
            w.key("config")
            w.object { w in
                // chunk_size is how the work is split, not a rule of the program: left out, so
                // that any chunking gives the same bytes.
                for (k, v) in c.entries where k != "chunk_size" {
                    if k == "program_start" || k == "emerging_reserve" { w.field(k, v) } else { w.decimalField(k, v) }
                }
            }
            w.key("totals")
            w.object { w in
                w.field("firms", totalFirms)
                w.field("exporting_firms", exportingFirms)
                w.field("export_usd_k", exportUSDk)
                w.field("exporting_firms_to_date", exportingFirmsToDate)
                w.field("export_usd_k_to_date", exportsToDate)
                w.field("national_goal_usd_k", c.nationalGoalUSDk)
                // Progress is the program year's monitored exports; last year's share beside it.
                w.decimalField("goal_progress", Decimal.ratio(exportsToDate, c.nationalGoalUSDk, places: 4))
                w.key("projected_export_usd_k")
                if let p = projectedExportUSDk { w.int(p) } else { w.null() }
                w.key("projected_goal_progress")
                if let p = projectedExportUSDk {
                    w.number(Decimal.ratio(p, c.nationalGoalUSDk, places: 4))
                } else {
                    w.null()
                }
                w.decimalField("last_year_goal_share", Decimal.ratio(exportUSDk, c.nationalGoalUSDk, places: 4))
                w.field("pool_size", national.pool.count)
                w.field("matched", matchedCount)
                w.field("consortia", consortia.count)
                w.field("consortium_members", consortia.reduce(0) { $0 + $1.members.count })
                w.field("consortium_pool_members", consortiumPoolMembers)
                w.field("consortia_led_from_outside_the_pool", consortiaLedFromOutside)
                w.field("consortia_targeting_emerging", emergingConsortia)
                w.decimalField(
                    "consortia_emerging_share",
                    Decimal.ratio(Int64(emergingConsortia), Int64(consortia.count), places: 4))
                w.field("pool_served", poolServed)
                w.decimalField(
                    "pool_served_share", Decimal.ratio(Int64(poolServed), Int64(national.pool.count), places: 4))
                w.field("unplaced", unplaced.count)
                w.field("new_export_sources", newExportSources.count)
                w.field("rows_read", input.rowsRead)
                w.field("accepted_rows", input.accepted)
                w.field("rejected_rows", input.rejected)
            }
            w.field("period_reached", periodReached)
            w.key("regions")
            w.array { w in
                for (s, a) in zip(regions, attainment) { region(&w, s, a) }
            }
            w.key("supported_followup")
            followUp.json(&w)
            w.key("markets")
            w.object { w in
                w.decimalField(
                    "emerging_share_of_matches", Decimal.ratio(Int64(emergingMatches), Int64(matchedCount), places: 4))
                w.decimalField("quota", Permille.decimal(c.emergingQuotaPermille))
                w.field("emerging_matches", emergingMatches)
                w.field("reserved_seats", desks.reduce(0) { $0 + $1.reserved })
                w.field("desks_with_unfilled_reserve", desks.filter(\.reserveUnfilled).count)
                w.key("matches_by_bloc")
                w.object { w in
                    for (b, n) in zip(Bloc.allCases, matchesByBloc) { w.field(b.rawValue, n) }
                }
            }
            w.key("matching")
            matching(&w)
            w.key("rnd_priority")
            w.object { w in
                let r = rndMatching
                w.field("selection_band", c.rndSelectionBand)
                w.field("pool_firms_rnd", r.rnd)
                w.field("matched_rnd", r.rndMatched)
                w.decimalField("match_rate_rnd", Decimal.ratio(Int64(r.rndMatched), Int64(r.rnd), places: 4))
                w.field("pool_firms_other", r.other)
                w.field("matched_other", r.otherMatched)
                w.decimalField("match_rate_other", Decimal.ratio(Int64(r.otherMatched), Int64(r.other), places: 4))
            }
            w.key("pool")
            w.array { w in
                for (i, p) in national.pool.enumerated() {
                    w.object { w in
                        w.field("rank", i + 1)
                        w.field("firm_id", p.firm.id.description)
                        w.decimalField("readiness", Decimal.fixed(Int64(p.readiness), places: 2))
                        w.field("priority", p.priority)
                        w.field("industry", p.firm.industry.rawValue)
                        w.field("region", p.firm.region.rawValue)
                    }
                }
            }
            w.key("matches")
            w.array { w in
                for m in matches {
                    w.object { w in
                        w.field("firm_id", m.firm.description)
                        w.field("company_id", m.company)
                        w.field("industry", m.industry.rawValue)
                        w.field("target_market", marketCode(m.targetMarket))
                        w.field("emerging", m.emerging)
                        w.field("firm_choice", m.firmChoice)
                        w.field("desk_rank", m.deskRank)
                    }
                }
            }
            w.key("desks")
            w.array { w in
                for d in desks {
                    w.object { w in
                        w.field("company_id", d.company)
                        w.field("industry", d.industry.rawValue)
                        w.field("capacity", d.capacity)
                        w.field("matched", d.matched)
                        w.field("reserved", d.reserved)
                        w.field("emerging_matched", d.emergingMatched)
                        w.field("applicants", d.applicants)
                        w.field("emerging_applicants", d.emergingApplicants)
                        w.field("reserve_unfilled", d.reserveUnfilled)
                        w.key("unfilled_reason")
                        if let reason = d.unfilledReason { w.string(reason.rawValue) } else { w.null() }
                        w.field("own_ranking", d.ownRanking)
                    }
                }
            }
            w.key("consortia")
            w.array { w in
                for k in consortia {
                    w.object { w in
                        w.field("consortium_id", k.id)
                        w.field("industry", k.industry.rawValue)
                        w.field("leader", k.leader.description)
                        w.field("leader_from_outside_the_pool", k.leaderFromOutside)
                        w.key("members")
                        w.array { w in for m in k.members { w.string(m.description) } }
                        w.field("target_market", marketCode(k.targetMarket))
                        w.field("target_emerging", targetsEmerging(k))
                        w.field("target_rule", k.targetRule.rawValue)
                        w.key("institutions")
                        w.array { w in for i in k.institutions { w.string(i) } }
                        w.key("support_institution")
                        if let s = k.support { w.string(s) } else { w.null() }
                        w.field("objective", k.objective)
                    }
                }
            }
            w.key("consortia_by_industry")
            w.array { w in
                for i in consortiaByIndustry {
                    w.object { w in
                        w.field("industry", i.industry.rawValue)
                        w.field("unmatched_pool_firms", i.unmatched)
                        w.field("leaders_available", i.leaders)
                        w.field("consortia", i.consortia)
                        w.field("pool_members", i.poolMembers)
                        w.field("led_from_outside_the_pool", i.ledFromOutside)
                        w.field("targeting_emerging", i.emerging)
                        w.field("unplaced", i.unplaced)
                    }
                }
            }
            w.key("unplaced")
            w.array { w in
                for u in unplaced {
                    w.object { w in
                        w.field("firm_id", u.firm.description)
                        w.field("reason", u.reason)
                    }
                }
            }
            w.key("midsize_groups")
            w.object { w in
                for (g, n) in zip(MidsizeGroup.allCases, midsizeGroups) { w.field(g.rawValue, n) }
            }
            w.key("midsize_tracks")
            midsizeTracksJSON(&w)
            w.key("export_tiers")
            w.object { w in
                for (t, n) in zip(ExportTier.allCases, tiers) { w.field(t.rawValue, n) }
            }
            w.key("channels")
            w.object { w in
                for (ch, n) in zip(Channel.allCases, channelCounts) { w.field(ch.rawValue, n) }
            }
            w.key("channel_routes")
            w.object { w in
                for (r, n) in zip(ChannelRecommendation.Route.allCases, routeCounts) { w.field(r.rawValue, n) }
            }
            w.field("pool_firms_without_channel", poolFirmsWithoutChannel)
            w.key("excellent_store")
            w.object { w in
                w.field("places_per_mall", c.excellentStorePlaces)
                w.field("consumer_pool_firms", national.pool.filter { $0.firm.industry.isConsumer }.count)
                for mall in ExcellentStore.malls {
                    w.field(mall.rawValue, storeAdmissions.filter { $0.channel == mall }.count)
                }
            }
            w.key("new_export_sources")
            w.array { w in
                for s in newExportSources {
                    w.object { w in
                        w.field("firm_id", s.firm.description)
                        w.decimalField("readiness", Decimal.fixed(Int64(s.readiness), places: 2))
                        w.field("procurement_excellent", s.procurementExcellent)
                        w.field("home_shopping_bestseller", s.homeShoppingBestseller)
                        w.key("markets")
                        w.array { w in
                            for m in s.markets {
                                w.object { w in
                                    w.field("market", marketCode(m.market))
                                    w.field("potential_usd_k", m.potentialUSDk)
                                    w.field("untapped_usd_k", m.untappedUSDk)
                                    w.key("entry_gate")
                                    if let g = m.gate { w.string(g.rawValue) } else { w.null() }
                                    w.field("gate_held", m.gateHeld)
                                }
                            }
                        }
                    }
                }
            }
            w.key("files")
            w.array { w in
                for f in input.files {
                    w.object { w in
                        w.field("file", f.file)
                        w.field("present", f.present)
                        w.field("rows_read", f.rowsRead)
                        w.field("accepted", f.accepted)
                        w.field("rejected", f.rejected)
                    }
                }
            }
            w.key("rejections")
            w.array { w in
                for r in input.rejections {
                    w.object { w in
                        w.field("file", r.file)
                        w.field("line", r.line)
                        w.field("reason", r.reasonWithColumn)
                    }
                }
            }
        }
        var out = w.bytes
        out.append(10)
        return out
    }

    /// Private selection nationally: seats, both sides' lists, the reserves left unfilled and why,
    /// and the quota's trade-off (the same lists under no quota, the soft and the hard reserve).
    private func matching(_ w: inout JSONWriter) {
        let c = configuration
        w.object { w in
            w.field("seats", seats)
            w.field("matched", matchedCount)
            w.field("empty_seats", seats - matchedCount)
            w.field("contracts", contracts)
            w.field("offers", offers)
            w.field("firms_with_own_lists", firmsWithOwnLists)
            w.field("firms_with_computed_lists", national.pool.count - firmsWithOwnLists)
            w.field("desks_with_own_rankings", desksWithOwnRankings)
            w.field("desks_with_computed_rankings", desks.count - desksWithOwnRankings)
            w.field("list_cap", c.preferenceListLength)
            w.key("seats_left_empty_by_cap")
            if let e = emptySeatsWithoutCap { w.int(seats - matchedCount - e) } else { w.null() }
            w.key("unfilled_reserves")
            w.object { w in
                for (reason, n) in unfilledReserves { w.field(reason.rawValue, n) }
            }
            w.key("quota_trade_off")
            w.array { w in
                for v in variants {
                    w.object { w in
                        w.field("rule", v.rule.rawValue)
                        w.decimalField("quota", v.rule == .no_quota ? "0" : Permille.decimal(c.emergingQuotaPermille))
                        w.field("configured", v.rule == configuredVariant?.rule)
                        w.field("matched", v.matched)
                        w.field("emerging_matched", v.emergingMatched)
                        w.decimalField(
                            "emerging_share", Decimal.ratio(Int64(v.emergingMatched), Int64(v.matched), places: 4))
                        w.field("empty_seats", v.emptySeats)
                        w.key("median_choice")
                        if let m = v.doubledMedianChoice {
                            w.number(Decimal.fixed(Int64(m * 5), places: 1))
                        } else {
                            w.null()
                        }
                    }
                }
            }
        }
    }

    private func region(_ w: inout JSONWriter, _ s: RegionSummary, _ a: Attainment) {
        let t = target(s.region)
        w.object { w in
            w.field("region", s.region.rawValue)
            w.field("firms", s.firms)
            w.field("exporting_firms", s.exportingFirms)
            w.field("export_usd_k", s.exportUSDk)
            w.key("target_exporting_firms")
            if let t { w.int(t.exportingFirms) } else { w.null() }
            w.key("avg_export_usd_k")
            if let avg = a.averageExportToDate { w.int(avg) } else { w.null() }
            w.key("target_avg_export_usd_k")
            if let t { w.int(t.avgExportUSDk) } else { w.null() }
            w.field("exporting_firms_to_date", a.exportingFirmsToDate)
            w.field("export_usd_k_to_date", a.exportsToDate)
            w.key("midsize_groups")
            w.object { w in
                for (g, n) in zip(MidsizeGroup.allCases, s.midsizeGroups) { w.field(g.rawValue, n) }
            }
            w.key("periods")
            w.array { w in
                var firmsToDate: Int64 = 0
                var exportsToDate: Int64 = 0
                for p in 0..<ProgramConfiguration.periods where p <= periodReached {
                    firmsToDate += s.firstExportPeriod[p]
                    exportsToDate += s.periodExportUSDk[p]
                    w.object { w in
                        w.field("period", p + 1)
                        w.field("start", configuration.start(ofPeriod: p).description)
                        w.field("export_usd_k", s.periodExportUSDk[p])
                        w.field("exporting_firms", s.periodExportingFirms[p])
                        w.field("exporting_firms_to_date", firmsToDate)
                        w.field("export_usd_k_to_date", exportsToDate)
                    }
                }
            }
            w.field("behind_pace", a.behindPace)
            w.key("behind_on")
            w.array { w in for t in a.behindOn { w.string(t.rawValue) } }
        }
    }
}
